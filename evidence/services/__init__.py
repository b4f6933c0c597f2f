"""The facade: capability services composed by :class:`Toolkit`.

The only floor that composes stages (capture, anchoring, reports). The CLI,
the HTTP service and the console use it and nothing below it.
"""
