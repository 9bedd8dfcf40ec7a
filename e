timeout: failed to run command ‘blueheart’: No such file or directory
