"""The evidence bundle: its layout, writer, reader and limits, and the WACZ form."""
