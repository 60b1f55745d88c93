"""The one contract between ``training`` (writes the store) and ``app`` (serves it).

Pure python, pydantic and numpy: importing any of it never imports TensorFlow, so a client, a
documentation build or a test can use it alone.

* :mod:`contract.store`: the store's layout, names, versions, labels and signature keys;
* :mod:`contract.metadata`: ``metadata.json``'s schema, one pydantic model used as is in responses;
* :mod:`contract.baselines`: the classic baselines' names, parameters and numpy kernels;
* :mod:`contract.metrics`: the accuracy metrics' names and numpy kernels.
"""
