"""One module per ``symderiv`` subcommand; see :mod:`symderiv.cli`."""
