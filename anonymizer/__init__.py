"""anonymizer: make call-center screen+call recordings shareable for training.

The library never imports the CLI; see ``anonymizer._cli`` for the command line.
"""

__version__ = "0.1.0"
