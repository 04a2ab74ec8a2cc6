# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_jobod_global_optspecs
    string join \n system user data-dir= socket= socket-group= listen= seed-listen= tls-cert= tls-key= config= no-local-worker reinit log-format= h/help V/version
end

function __fish_jobod_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_jobod_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_jobod_using_subcommand
    set -l cmd (__fish_jobod_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c jobod -n "__fish_jobod_needs_command" -l data-dir -d 'Data directory (job store, job files)' -r -F
complete -c jobod -n "__fish_jobod_needs_command" -l socket -d 'Unix socket to serve the API on' -r -F
complete -c jobod -n "__fish_jobod_needs_command" -l socket-group -d 'Group whose members may use the socket (it becomes mode 0660, this group) [default in system mode: jobo if that group exists, else jobod\'s own group; in user mode: none, 0600]' -r
complete -c jobod -n "__fish_jobod_needs_command" -l listen -d 'Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)' -r
complete -c jobod -n "__fish_jobod_needs_command" -l seed-listen -d 'Serve only the seed routes, without a token, on this TCP address (for portals written for job-orchestrator; bind it to localhost): `[server] seed_listen`' -r
complete -c jobod -n "__fish_jobod_needs_command" -l tls-cert -d 'Serve TCP (--listen) inside TLS with this certificate (PEM, the chain from the server\'s own first): `[server] tls_cert`' -r -F
complete -c jobod -n "__fish_jobod_needs_command" -l tls-key -d 'The private key of --tls-cert (PEM): `[server] tls_key`' -r -F
complete -c jobod -n "__fish_jobod_needs_command" -l config -d 'Config file [default: jobod.toml in the mode\'s config dir, if it exists]' -r -F
complete -c jobod -n "__fish_jobod_needs_command" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_needs_command" -l system -d 'System mode: /var/lib/jobo, /run/jobo/jobod.sock, /etc/jobo/jobod.toml [default for root]'
complete -c jobod -n "__fish_jobod_needs_command" -l user -d 'User mode (XDG paths) even when running as root'
complete -c jobod -n "__fish_jobod_needs_command" -l no-local-worker -d 'Do not run jobs on this machine (only on worker nodes)'
complete -c jobod -n "__fish_jobod_needs_command" -l reinit -d 'Start over if the job store is missing, empty, damaged or another data dir\'s, instead of refusing to start: the store and jobs/ are renamed to *.orphaned-<time>, nothing is deleted. Does nothing when the store is sound'
complete -c jobod -n "__fish_jobod_needs_command" -s h -l help -d 'Print help'
complete -c jobod -n "__fish_jobod_needs_command" -s V -l version -d 'Print version'
complete -c jobod -n "__fish_jobod_needs_command" -f -a "serve" -d 'Run the server (the default)'
complete -c jobod -n "__fish_jobod_needs_command" -f -a "worker" -d 'Run a worker node: run payloads sent by a server, serve the seed\'s client routes'
complete -c jobod -n "__fish_jobod_needs_command" -f -a "check" -d 'Check the job store and the job files; exit 1 if there are problems'
complete -c jobod -n "__fish_jobod_needs_command" -f -a "backup" -d 'Write a consistent copy of the job store to PATH, also while jobod serves'
complete -c jobod -n "__fish_jobod_needs_command" -f -a "config" -d 'Configuration helpers'
complete -c jobod -n "__fish_jobod_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l data-dir -d 'Data directory (job store, job files)' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l socket -d 'Unix socket to serve the API on' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l socket-group -d 'Group whose members may use the socket (it becomes mode 0660, this group) [default in system mode: jobo if that group exists, else jobod\'s own group; in user mode: none, 0600]' -r
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l listen -d 'Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)' -r
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l seed-listen -d 'Serve only the seed routes, without a token, on this TCP address (for portals written for job-orchestrator; bind it to localhost): `[server] seed_listen`' -r
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l tls-cert -d 'Serve TCP (--listen) inside TLS with this certificate (PEM, the chain from the server\'s own first): `[server] tls_cert`' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l tls-key -d 'The private key of --tls-cert (PEM): `[server] tls_key`' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l config -d 'Config file [default: jobod.toml in the mode\'s config dir, if it exists]' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l system -d 'System mode: /var/lib/jobo, /run/jobo/jobod.sock, /etc/jobo/jobod.toml [default for root]'
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l user -d 'User mode (XDG paths) even when running as root'
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l no-local-worker -d 'Do not run jobs on this machine (only on worker nodes)'
complete -c jobod -n "__fish_jobod_using_subcommand serve" -l reinit -d 'Start over if the job store is missing, empty, damaged or another data dir\'s, instead of refusing to start: the store and jobs/ are renamed to *.orphaned-<time>, nothing is deleted. Does nothing when the store is sound'
complete -c jobod -n "__fish_jobod_using_subcommand serve" -s h -l help -d 'Print help'
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l listen -d 'Address to serve on, e.g. 0.0.0.0:5001 (port 0 picks a free port; the bound address is written to jobod-worker.tcp in the data dir)' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l token-file -d 'File whose first line is the node token (requests need `Authorization: Bearer <token>`)' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l slots -d 'Payloads run at once [default: number of CPUs]' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l data-dir -d 'Data directory (payload dirs, emptied at start) [default: `worker` in the default data dir]' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l cgroups -d 'Run payloads in cgroups where they can be made (memory, cpus and pids limits, the whole payload killed at its end, its usage measured), one per slot; `--cgroups=false`: memory by RLIMIT_AS only, and only the payload\'s process group killed' -r -f -a "true\t''
false\t''"
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l run-as-allow -d 'Users a root node may run payloads as: the server names one with each payload, and payloads of the seed\'s /submit run as the first. A node that is not root runs them as itself and ignores this' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l tls-cert -d 'Serve inside TLS with this certificate (PEM, the chain from the node\'s own first)' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l tls-key -d 'The private key of --tls-cert (PEM)' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l tls-client-ca -d 'Take only clients that show a certificate signed by this CA (PEM): the server\'s `[cluster] client_cert` (needs --tls-cert)' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l max-upload-bytes -d 'Largest payload taken, in bytes: the tar as sent and its files unpacked (the server\'s `[server] max_upload_bytes` bounds what it sends; a larger job fails naming this limit)' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l max-upload-entries -d 'Most files and directories one payload may create' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l backend -d 'Where payloads run: here (local), or each as one Slurm batch job (slurm: run this on a Slurm submit host, with --data-dir on storage the compute nodes see)' -r -f -a "local\t''
slurm\t''"
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l partition -d 'Slurm partition of every job (--backend slurm)' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l account -d 'Slurm account of every job (--backend slurm)' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l sbatch-arg -d 'One more sbatch argument for every job, e.g. --sbatch-arg=--qos=short (repeatable; --backend slurm)' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l slurm-poll -d 'How often Slurm is asked about the node\'s jobs (one squeue for all), when none is about to end (then every 250ms) (--backend slurm)' -r
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_using_subcommand worker" -l allow-seed-without-token -d 'Serve the seed\'s client routes without a token (for the seed\'s server, which sends none). Only on a private network: anyone who reaches the port can run code'
complete -c jobod -n "__fish_jobod_using_subcommand worker" -s h -l help -d 'Print help'
complete -c jobod -n "__fish_jobod_using_subcommand check" -l data-dir -d 'Data directory (job store, job files)' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand check" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_using_subcommand check" -l system -d 'System mode\'s data dir, /var/lib/jobo [default for root]'
complete -c jobod -n "__fish_jobod_using_subcommand check" -l user -d 'User mode\'s data dir (XDG) even when running as root'
complete -c jobod -n "__fish_jobod_using_subcommand check" -l fix -d 'Remove orphan job dirs (never a job\'s row). Refused while jobod runs on the data dir'
complete -c jobod -n "__fish_jobod_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobod -n "__fish_jobod_using_subcommand backup" -l data-dir -d 'Data directory (job store, job files)' -r -F
complete -c jobod -n "__fish_jobod_using_subcommand backup" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_using_subcommand backup" -l system -d 'System mode\'s data dir, /var/lib/jobo [default for root]'
complete -c jobod -n "__fish_jobod_using_subcommand backup" -l user -d 'User mode\'s data dir (XDG) even when running as root'
complete -c jobod -n "__fish_jobod_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobod -n "__fish_jobod_using_subcommand config; and not __fish_seen_subcommand_from default import-seed help" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_using_subcommand config; and not __fish_seen_subcommand_from default import-seed help" -s h -l help -d 'Print help'
complete -c jobod -n "__fish_jobod_using_subcommand config; and not __fish_seen_subcommand_from default import-seed help" -f -a "default" -d 'Print the built-in default configuration'
complete -c jobod -n "__fish_jobod_using_subcommand config; and not __fish_seen_subcommand_from default import-seed help" -f -a "import-seed" -d 'Print a jobod.toml made from job-orchestrator 2.3.1\'s environment variables'
complete -c jobod -n "__fish_jobod_using_subcommand config; and not __fish_seen_subcommand_from default import-seed help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobod -n "__fish_jobod_using_subcommand config; and __fish_seen_subcommand_from default" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_using_subcommand config; and __fish_seen_subcommand_from default" -s h -l help -d 'Print help'
complete -c jobod -n "__fish_jobod_using_subcommand config; and __fish_seen_subcommand_from import-seed" -l log-format -d 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)' -r -f -a "text\t''
json\t''"
complete -c jobod -n "__fish_jobod_using_subcommand config; and __fish_seen_subcommand_from import-seed" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobod -n "__fish_jobod_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "default" -d 'Print the built-in default configuration'
complete -c jobod -n "__fish_jobod_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "import-seed" -d 'Print a jobod.toml made from job-orchestrator 2.3.1\'s environment variables'
complete -c jobod -n "__fish_jobod_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobod -n "__fish_jobod_using_subcommand help; and not __fish_seen_subcommand_from serve worker check backup config help" -f -a "serve" -d 'Run the server (the default)'
complete -c jobod -n "__fish_jobod_using_subcommand help; and not __fish_seen_subcommand_from serve worker check backup config help" -f -a "worker" -d 'Run a worker node: run payloads sent by a server, serve the seed\'s client routes'
complete -c jobod -n "__fish_jobod_using_subcommand help; and not __fish_seen_subcommand_from serve worker check backup config help" -f -a "check" -d 'Check the job store and the job files; exit 1 if there are problems'
complete -c jobod -n "__fish_jobod_using_subcommand help; and not __fish_seen_subcommand_from serve worker check backup config help" -f -a "backup" -d 'Write a consistent copy of the job store to PATH, also while jobod serves'
complete -c jobod -n "__fish_jobod_using_subcommand help; and not __fish_seen_subcommand_from serve worker check backup config help" -f -a "config" -d 'Configuration helpers'
complete -c jobod -n "__fish_jobod_using_subcommand help; and not __fish_seen_subcommand_from serve worker check backup config help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobod -n "__fish_jobod_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "default" -d 'Print the built-in default configuration'
complete -c jobod -n "__fish_jobod_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "import-seed" -d 'Print a jobod.toml made from job-orchestrator 2.3.1\'s environment variables'
