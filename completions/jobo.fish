complete --keep-order --exclusive --command jobo --arguments "(COMPLETE=fish jobo -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
