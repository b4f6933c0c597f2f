"""The ``evidence`` command's own modules: one per group of commands.

``cli.py`` at the top of the tree holds the root group and registers the
commands defined here. These modules import only click, the standard library
and the public facade (``from evidence import ...``), and the facade's heavy
parts only inside the command that needs them, so that ``evidence --help``
starts in a blink. They are the command line, not a library API.
"""
