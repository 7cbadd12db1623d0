"""Entry point of the import reader process; see :mod:`labelkitchen.io.worker`."""

from labelkitchen.io.worker import main

if __name__ == "__main__":
    main()
