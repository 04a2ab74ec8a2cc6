
use builtin;
use str;

set edit:completion:arg-completer[jobo] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'jobo'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'jobo'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand submit 'Upload a job directory and print the job id'
            cand run 'Submit, stream the output, fetch the results into ./jobo-ID, exit with the job''s code'
            cand status 'Show recent jobs, or the details of the given ones'
            cand list 'List jobs, newest first'
            cand wait 'Wait until the jobs end; exit non-zero unless all succeeded'
            cand logs 'Print a job''s output (stdout to stdout, stderr to stderr)'
            cand fetch 'Download and unpack a finished job''s results'
            cand cancel 'Cancel queued or running jobs'
            cand rm 'Remove finished jobs'' files (their history stays)'
            cand service 'Services this server runs'
            cand node 'Worker nodes this server sends jobs to (admins only)'
            cand token 'API tokens for TCP clients and portals (admins only)'
            cand system 'The server: what it is and runs with, and stopping it'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;submit'= {
            cand -s 'Service to run the job in (see `jobo service ls`)'
            cand --service 'Service to run the job in (see `jobo service ls`)'
            cand --priority 'Order among your own queued jobs (higher runs first)'
            cand --timeout 'Wall-clock limit of the run, e.g. 90s, 15m, 2h (at most the service''s maximum)'
            cand --memory 'Memory to request, e.g. 512M, 2G (held by the job''s cgroup, else by RLIMIT_AS)'
            cand --cpus 'CPUs to request, e.g. 1.5 (held by the job''s cgroup, where it has one)'
            cand --pids 'Processes to request (held by the job''s cgroup, where it has one)'
            cand -e 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)'
            cand --env 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)'
            cand --idempotency-key 'Makes the submit safe to retry: the same key returns the same job'
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand -w 'Wait for the job to end and print its final state'
            cand --wait 'Wait for the job to end and print its final state'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;run'= {
            cand -s 'Service to run the job in (see `jobo service ls`)'
            cand --service 'Service to run the job in (see `jobo service ls`)'
            cand --priority 'Order among your own queued jobs (higher runs first)'
            cand --timeout 'Wall-clock limit of the run, e.g. 90s, 15m, 2h (at most the service''s maximum)'
            cand --memory 'Memory to request, e.g. 512M, 2G (held by the job''s cgroup, else by RLIMIT_AS)'
            cand --cpus 'CPUs to request, e.g. 1.5 (held by the job''s cgroup, where it has one)'
            cand --pids 'Processes to request (held by the job''s cgroup, where it has one)'
            cand -e 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)'
            cand --env 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)'
            cand --idempotency-key 'Makes the submit safe to retry: the same key returns the same job'
            cand -o 'Where to put the results [default: ./jobo-ID]'
            cand --output 'Where to put the results [default: ./jobo-ID]'
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;status'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;list'= {
            cand --state 'Only jobs in this state: queued, dispatched, running, succeeded, failed, cancelled, timed_out, lost or expired'
            cand --service 'Only jobs of this service'
            cand --user 'Only this user''s jobs (others'' only for admins)'
            cand --limit 'At most this many jobs'
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;wait'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;logs'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand -f 'Keep printing as the job writes, until it ends'
            cand --follow 'Keep printing as the job writes, until it ends'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;fetch'= {
            cand -o 'Directory to unpack into [default: ./jobo-ID]'
            cand --output 'Directory to unpack into [default: ./jobo-ID]'
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --force 'Unpack into a directory that already exists'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;cancel'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;rm'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;service'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand ls 'List services with their quotas and current load'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;service;ls'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;service;help'= {
            cand ls 'List services with their quotas and current load'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;service;help;ls'= {
        }
        &'jobo;service;help;help'= {
        }
        &'jobo;node'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand add 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)'
            cand ls 'List nodes with their slots, load and health'
            cand rm 'Remove nodes (by id or name)'
            cand drain 'Stop sending new jobs to nodes; running ones finish'
            cand undrain 'Send new jobs to drained nodes again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;node;add'= {
            cand -s 'Services the node runs, comma-separated or repeated'
            cand --service 'Services the node runs, comma-separated or repeated'
            cand --slots 'Jobs the node runs at once'
            cand --token-file 'File whose first line is the node''s token (needed for `jobod worker` nodes)'
            cand --name 'Name to show and to refer to the node by [default: its host:port]'
            cand --protocol 'How the server talks to the node'
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;node;ls'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;node;rm'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --force 'Remove even if jobs run there; they go back to the queue'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;node;drain'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;node;undrain'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;node;help'= {
            cand add 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)'
            cand ls 'List nodes with their slots, load and health'
            cand rm 'Remove nodes (by id or name)'
            cand drain 'Stop sending new jobs to nodes; running ones finish'
            cand undrain 'Send new jobs to drained nodes again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;node;help;add'= {
        }
        &'jobo;node;help;ls'= {
        }
        &'jobo;node;help;rm'= {
        }
        &'jobo;node;help;drain'= {
        }
        &'jobo;node;help;undrain'= {
        }
        &'jobo;node;help;help'= {
        }
        &'jobo;token'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand create 'Make a token and print its secret, once, to stdout'
            cand ls 'List tokens (never their secrets)'
            cand revoke 'Revoke tokens by id: they stop working at once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;token;create'= {
            cand -u 'The user the token speaks for'
            cand --user 'The user the token speaks for'
            cand --role 'What the token may do'
            cand --expires 'Lifetime, e.g. 12h, 30d [default: never expires]'
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;token;ls'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;token;revoke'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;token;help'= {
            cand create 'Make a token and print its secret, once, to stdout'
            cand ls 'List tokens (never their secrets)'
            cand revoke 'Revoke tokens by id: they stop working at once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;token;help;create'= {
        }
        &'jobo;token;help;ls'= {
        }
        &'jobo;token;help;revoke'= {
        }
        &'jobo;token;help;help'= {
        }
        &'jobo;system'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand info 'Version, mode, data dir, config file, what it enforces, nodes'
            cand stop 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;system;info'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;system;stop'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;system;help'= {
            cand info 'Version, mode, data dir, config file, what it enforces, nodes'
            cand stop 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;system;help;info'= {
        }
        &'jobo;system;help;stop'= {
        }
        &'jobo;system;help;help'= {
        }
        &'jobo;completions'= {
            cand -H 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --host 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]'
            cand --token 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line'
            cand --ca-cert 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]'
            cand --json 'Print machine-readable JSON instead of tables and text'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobo;help'= {
            cand submit 'Upload a job directory and print the job id'
            cand run 'Submit, stream the output, fetch the results into ./jobo-ID, exit with the job''s code'
            cand status 'Show recent jobs, or the details of the given ones'
            cand list 'List jobs, newest first'
            cand wait 'Wait until the jobs end; exit non-zero unless all succeeded'
            cand logs 'Print a job''s output (stdout to stdout, stderr to stderr)'
            cand fetch 'Download and unpack a finished job''s results'
            cand cancel 'Cancel queued or running jobs'
            cand rm 'Remove finished jobs'' files (their history stays)'
            cand service 'Services this server runs'
            cand node 'Worker nodes this server sends jobs to (admins only)'
            cand token 'API tokens for TCP clients and portals (admins only)'
            cand system 'The server: what it is and runs with, and stopping it'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobo;help;submit'= {
        }
        &'jobo;help;run'= {
        }
        &'jobo;help;status'= {
        }
        &'jobo;help;list'= {
        }
        &'jobo;help;wait'= {
        }
        &'jobo;help;logs'= {
        }
        &'jobo;help;fetch'= {
        }
        &'jobo;help;cancel'= {
        }
        &'jobo;help;rm'= {
        }
        &'jobo;help;service'= {
            cand ls 'List services with their quotas and current load'
        }
        &'jobo;help;service;ls'= {
        }
        &'jobo;help;node'= {
            cand add 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)'
            cand ls 'List nodes with their slots, load and health'
            cand rm 'Remove nodes (by id or name)'
            cand drain 'Stop sending new jobs to nodes; running ones finish'
            cand undrain 'Send new jobs to drained nodes again'
        }
        &'jobo;help;node;add'= {
        }
        &'jobo;help;node;ls'= {
        }
        &'jobo;help;node;rm'= {
        }
        &'jobo;help;node;drain'= {
        }
        &'jobo;help;node;undrain'= {
        }
        &'jobo;help;token'= {
            cand create 'Make a token and print its secret, once, to stdout'
            cand ls 'List tokens (never their secrets)'
            cand revoke 'Revoke tokens by id: they stop working at once'
        }
        &'jobo;help;token;create'= {
        }
        &'jobo;help;token;ls'= {
        }
        &'jobo;help;token;revoke'= {
        }
        &'jobo;help;system'= {
            cand info 'Version, mode, data dir, config file, what it enforces, nodes'
            cand stop 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)'
        }
        &'jobo;help;system;info'= {
        }
        &'jobo;help;system;stop'= {
        }
        &'jobo;help;completions'= {
        }
        &'jobo;help;help'= {
        }
    ]
    $completions[$command]
}
