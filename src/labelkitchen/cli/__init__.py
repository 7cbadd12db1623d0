"""The ``labelkitchen`` (alias ``lk``) command line: thin commands over services."""
