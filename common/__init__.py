"""Shared building blocks for every keras-applied domain.

One module per responsibility: ``config`` and ``cli`` (presets and flags), ``data`` (sources,
readers, splits, tf.data pipelines), ``precision`` (dtype policies), ``training`` (the shared
``fit()`` setup), ``evaluation`` (NumPy metrics), ``plots`` (matplotlib figures), ``results``
(the files a run leaves behind), ``report`` (tables generated from those files), ``benchmark``
(throughput and FLOP measurements) and ``paths`` (where data, caches and work files live).

Importing any of them changes no process-wide setting; entry points do that explicitly.
"""
