"""keras-applied domains: one subpackage per domain, each with the same file names.

See :mod:`applications.registry` for the list the ``keras-applied`` command knows.
"""
