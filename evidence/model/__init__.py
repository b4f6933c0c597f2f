"""The ground floor: the evidence model every stage builds on.

Records, errors, hashing, manifests, Merkle trees, the content-addressed store,
the custody log, CMS signatures, officer keys and the database. Nothing here
imports a stage (capture, anchoring, reports) or the services above them.
"""
