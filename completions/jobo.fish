# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_jobo_global_optspecs
    string join \n H/host= token= ca-cert= json h/help V/version
end

function __fish_jobo_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_jobo_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_jobo_using_subcommand
    set -l cmd (__fish_jobo_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c jobo -n "__fish_jobo_needs_command" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_needs_command" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_needs_command" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_needs_command" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_needs_command" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_needs_command" -s V -l version -d 'Print version'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "submit" -d 'Upload a job directory and print the job id'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "run" -d 'Submit, stream the output, fetch the results into ./jobo-ID, exit with the job\'s code'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "status" -d 'Show recent jobs, or the details of the given ones'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "list" -d 'List jobs, newest first'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "wait" -d 'Wait until the jobs end; exit non-zero unless all succeeded'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "logs" -d 'Print a job\'s output (stdout to stdout, stderr to stderr)'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "fetch" -d 'Download and unpack a finished job\'s results'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "cancel" -d 'Cancel queued or running jobs'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "rm" -d 'Remove finished jobs\' files (their history stays)'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "service" -d 'Services this server runs'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "node" -d 'Worker nodes this server sends jobs to (admins only)'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "token" -d 'API tokens for TCP clients and portals (admins only)'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "system" -d 'The server: what it is and runs with, and stopping it'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c jobo -n "__fish_jobo_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand submit" -s s -l service -d 'Service to run the job in (see `jobo service ls`)' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l priority -d 'Order among your own queued jobs (higher runs first)' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l timeout -d 'Wall-clock limit of the run, e.g. 90s, 15m, 2h (at most the service\'s maximum)' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l memory -d 'Memory to request, e.g. 512M, 2G (held by the job\'s cgroup, else by RLIMIT_AS)' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l cpus -d 'CPUs to request, e.g. 1.5 (held by the job\'s cgroup, where it has one)' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l pids -d 'Processes to request (held by the job\'s cgroup, where it has one)' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -s e -l env -d 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l idempotency-key -d 'Makes the submit safe to retry: the same key returns the same job' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand submit" -s w -l wait -d 'Wait for the job to end and print its final state'
complete -c jobo -n "__fish_jobo_using_subcommand submit" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand submit" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand run" -s s -l service -d 'Service to run the job in (see `jobo service ls`)' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l priority -d 'Order among your own queued jobs (higher runs first)' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l timeout -d 'Wall-clock limit of the run, e.g. 90s, 15m, 2h (at most the service\'s maximum)' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l memory -d 'Memory to request, e.g. 512M, 2G (held by the job\'s cgroup, else by RLIMIT_AS)' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l cpus -d 'CPUs to request, e.g. 1.5 (held by the job\'s cgroup, where it has one)' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l pids -d 'Processes to request (held by the job\'s cgroup, where it has one)' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -s e -l env -d 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l idempotency-key -d 'Makes the submit safe to retry: the same key returns the same job' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -s o -l output -d 'Where to put the results [default: ./jobo-ID]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand run" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand run" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand run" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand run" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand status" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand status" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand status" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand status" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand status" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand list" -l state -d 'Only jobs in this state: queued, dispatched, running, succeeded, failed, cancelled, timed_out, lost or expired' -r
complete -c jobo -n "__fish_jobo_using_subcommand list" -l service -d 'Only jobs of this service' -r
complete -c jobo -n "__fish_jobo_using_subcommand list" -l user -d 'Only this user\'s jobs (others\' only for admins)' -r
complete -c jobo -n "__fish_jobo_using_subcommand list" -l limit -d 'At most this many jobs' -r
complete -c jobo -n "__fish_jobo_using_subcommand list" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand list" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand list" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand list" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand list" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand wait" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand wait" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand wait" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand wait" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand wait" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand logs" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand logs" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand logs" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand logs" -s f -l follow -d 'Keep printing as the job writes, until it ends'
complete -c jobo -n "__fish_jobo_using_subcommand logs" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand logs" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand fetch" -s o -l output -d 'Directory to unpack into [default: ./jobo-ID]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand fetch" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand fetch" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand fetch" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand fetch" -l force -d 'Unpack into a directory that already exists'
complete -c jobo -n "__fish_jobo_using_subcommand fetch" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand fetch" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand cancel" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand cancel" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand cancel" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand cancel" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand cancel" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand rm" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand rm" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand rm" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand rm" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand rm" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand service; and not __fish_seen_subcommand_from ls help" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand service; and not __fish_seen_subcommand_from ls help" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand service; and not __fish_seen_subcommand_from ls help" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand service; and not __fish_seen_subcommand_from ls help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand service; and not __fish_seen_subcommand_from ls help" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand service; and not __fish_seen_subcommand_from ls help" -f -a "ls" -d 'List services with their quotas and current load'
complete -c jobo -n "__fish_jobo_using_subcommand service; and not __fish_seen_subcommand_from ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand service; and __fish_seen_subcommand_from ls" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand service; and __fish_seen_subcommand_from ls" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand service; and __fish_seen_subcommand_from ls" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand service; and __fish_seen_subcommand_from ls" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand service; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List services with their quotas and current load'
complete -c jobo -n "__fish_jobo_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -f -a "add" -d 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -f -a "ls" -d 'List nodes with their slots, load and health'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -f -a "rm" -d 'Remove nodes (by id or name)'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -f -a "drain" -d 'Stop sending new jobs to nodes; running ones finish'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -f -a "undrain" -d 'Send new jobs to drained nodes again'
complete -c jobo -n "__fish_jobo_using_subcommand node; and not __fish_seen_subcommand_from add ls rm drain undrain help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -s s -l service -d 'Services the node runs, comma-separated or repeated' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -l slots -d 'Jobs the node runs at once' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -l token-file -d 'File whose first line is the node\'s token (needed for `jobod worker` nodes)' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -l name -d 'Name to show and to refer to the node by [default: its host:port]' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -l protocol -d 'How the server talks to the node' -r -f -a "native\t''
seed\t''"
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from ls" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from ls" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from ls" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from ls" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from rm" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from rm" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from rm" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from rm" -l force -d 'Remove even if jobs run there; they go back to the queue'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from rm" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from drain" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from drain" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from drain" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from drain" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from drain" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from undrain" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from undrain" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from undrain" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from undrain" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from undrain" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List nodes with their slots, load and health'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove nodes (by id or name)'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from help" -f -a "drain" -d 'Stop sending new jobs to nodes; running ones finish'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from help" -f -a "undrain" -d 'Send new jobs to drained nodes again'
complete -c jobo -n "__fish_jobo_using_subcommand node; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -f -a "create" -d 'Make a token and print its secret, once, to stdout'
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -f -a "ls" -d 'List tokens (never their secrets)'
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -f -a "revoke" -d 'Revoke tokens by id: they stop working at once'
complete -c jobo -n "__fish_jobo_using_subcommand token; and not __fish_seen_subcommand_from create ls revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -s u -l user -d 'The user the token speaks for' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -l role -d 'What the token may do' -r -f -a "user\t''
admin\t''
portal\t''"
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -l expires -d 'Lifetime, e.g. 12h, 30d [default: never expires]' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from ls" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from ls" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from ls" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from ls" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from revoke" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from revoke" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from revoke" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "create" -d 'Make a token and print its secret, once, to stdout'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List tokens (never their secrets)'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke tokens by id: they stop working at once'
complete -c jobo -n "__fish_jobo_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -f -a "info" -d 'Version, mode, data dir, config file, what it enforces, nodes'
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -f -a "stop" -d 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)'
complete -c jobo -n "__fish_jobo_using_subcommand system; and not __fish_seen_subcommand_from info stop help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from info" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from info" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from info" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from info" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from stop" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from stop" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from stop" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from stop" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from help" -f -a "info" -d 'Version, mode, data dir, config file, what it enforces, nodes'
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)'
complete -c jobo -n "__fish_jobo_using_subcommand system; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand completions" -s H -l host -d 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]' -r
complete -c jobo -n "__fish_jobo_using_subcommand completions" -l token -d 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line' -r
complete -c jobo -n "__fish_jobo_using_subcommand completions" -l ca-cert -d 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system\'s trusted CAs]' -r -F
complete -c jobo -n "__fish_jobo_using_subcommand completions" -l json -d 'Print machine-readable JSON instead of tables and text'
complete -c jobo -n "__fish_jobo_using_subcommand completions" -s h -l help -d 'Print help'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "submit" -d 'Upload a job directory and print the job id'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "run" -d 'Submit, stream the output, fetch the results into ./jobo-ID, exit with the job\'s code'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "status" -d 'Show recent jobs, or the details of the given ones'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "list" -d 'List jobs, newest first'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "wait" -d 'Wait until the jobs end; exit non-zero unless all succeeded'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "logs" -d 'Print a job\'s output (stdout to stdout, stderr to stderr)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "fetch" -d 'Download and unpack a finished job\'s results'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "cancel" -d 'Cancel queued or running jobs'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "rm" -d 'Remove finished jobs\' files (their history stays)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "service" -d 'Services this server runs'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "node" -d 'Worker nodes this server sends jobs to (admins only)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "token" -d 'API tokens for TCP clients and portals (admins only)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "system" -d 'The server: what it is and runs with, and stopping it'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c jobo -n "__fish_jobo_using_subcommand help; and not __fish_seen_subcommand_from submit run status list wait logs fetch cancel rm service node token system completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "ls" -d 'List services with their quotas and current load'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from node" -f -a "add" -d 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from node" -f -a "ls" -d 'List nodes with their slots, load and health'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from node" -f -a "rm" -d 'Remove nodes (by id or name)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from node" -f -a "drain" -d 'Stop sending new jobs to nodes; running ones finish'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from node" -f -a "undrain" -d 'Send new jobs to drained nodes again'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "create" -d 'Make a token and print its secret, once, to stdout'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "ls" -d 'List tokens (never their secrets)'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "revoke" -d 'Revoke tokens by id: they stop working at once'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from system" -f -a "info" -d 'Version, mode, data dir, config file, what it enforces, nodes'
complete -c jobo -n "__fish_jobo_using_subcommand help; and __fish_seen_subcommand_from system" -f -a "stop" -d 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)'
