"""movielake: a movie-analytics lakehouse on AWS that also runs whole on a local stack.

The package is split by concern; each Lambda zip ships only the modules it needs, so
nothing here imports a heavy dependency at import time.
"""

__version__ = "0.1.0"
