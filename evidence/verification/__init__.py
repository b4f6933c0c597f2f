"""Verification of bundles: small checks run by one runner."""
