"""The command line: Click commands, their parameters, the progress bar, the process's
signals."""
