
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'jobo' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'jobo'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'jobo' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Upload a job directory and print the job id')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Submit, stream the output, fetch the results into ./jobo-ID, exit with the job''s code')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show recent jobs, or the details of the given ones')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List jobs, newest first')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until the jobs end; exit non-zero unless all succeeded')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print a job''s output (stdout to stdout, stderr to stderr)')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Download and unpack a finished job''s results')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel queued or running jobs')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove finished jobs'' files (their history stays)')
            [CompletionResult]::new('service', 'service', [CompletionResultType]::ParameterValue, 'Services this server runs')
            [CompletionResult]::new('node', 'node', [CompletionResultType]::ParameterValue, 'Worker nodes this server sends jobs to (admins only)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'API tokens for TCP clients and portals (admins only)')
            [CompletionResult]::new('system', 'system', [CompletionResultType]::ParameterValue, 'The server: what it is and runs with, and stopping it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;submit' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Service to run the job in (see `jobo service ls`)')
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'Service to run the job in (see `jobo service ls`)')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Order among your own queued jobs (higher runs first)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Wall-clock limit of the run, e.g. 90s, 15m, 2h (at most the service''s maximum)')
            [CompletionResult]::new('--memory', '--memory', [CompletionResultType]::ParameterName, 'Memory to request, e.g. 512M, 2G (held by the job''s cgroup, else by RLIMIT_AS)')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'CPUs to request, e.g. 1.5 (held by the job''s cgroup, where it has one)')
            [CompletionResult]::new('--pids', '--pids', [CompletionResultType]::ParameterName, 'Processes to request (held by the job''s cgroup, where it has one)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)')
            [CompletionResult]::new('--idempotency-key', '--idempotency-key', [CompletionResultType]::ParameterName, 'Makes the submit safe to retry: the same key returns the same job')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Wait for the job to end and print its final state')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait for the job to end and print its final state')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;run' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Service to run the job in (see `jobo service ls`)')
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'Service to run the job in (see `jobo service ls`)')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Order among your own queued jobs (higher runs first)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Wall-clock limit of the run, e.g. 90s, 15m, 2h (at most the service''s maximum)')
            [CompletionResult]::new('--memory', '--memory', [CompletionResultType]::ParameterName, 'Memory to request, e.g. 512M, 2G (held by the job''s cgroup, else by RLIMIT_AS)')
            [CompletionResult]::new('--cpus', '--cpus', [CompletionResultType]::ParameterName, 'CPUs to request, e.g. 1.5 (held by the job''s cgroup, where it has one)')
            [CompletionResult]::new('--pids', '--pids', [CompletionResultType]::ParameterName, 'Processes to request (held by the job''s cgroup, where it has one)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'An environment variable for the job, KEY=VALUE (repeatable; the service must allow KEY)')
            [CompletionResult]::new('--idempotency-key', '--idempotency-key', [CompletionResultType]::ParameterName, 'Makes the submit safe to retry: the same key returns the same job')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to put the results [default: ./jobo-ID]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to put the results [default: ./jobo-ID]')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;status' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;list' {
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in this state: queued, dispatched, running, succeeded, failed, cancelled, timed_out, lost or expired')
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'Only jobs of this service')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only this user''s jobs (others'' only for admins)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many jobs')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;wait' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;logs' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing as the job writes, until it ends')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing as the job writes, until it ends')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;fetch' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Directory to unpack into [default: ./jobo-ID]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Directory to unpack into [default: ./jobo-ID]')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Unpack into a directory that already exists')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;cancel' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;rm' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;service' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List services with their quotas and current load')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;service;ls' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;service;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List services with their quotas and current load')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;service;help;ls' {
            break
        }
        'jobo;service;help;help' {
            break
        }
        'jobo;node' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List nodes with their slots, load and health')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove nodes (by id or name)')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Stop sending new jobs to nodes; running ones finish')
            [CompletionResult]::new('undrain', 'undrain', [CompletionResultType]::ParameterValue, 'Send new jobs to drained nodes again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;node;add' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Services the node runs, comma-separated or repeated')
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'Services the node runs, comma-separated or repeated')
            [CompletionResult]::new('--slots', '--slots', [CompletionResultType]::ParameterName, 'Jobs the node runs at once')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is the node''s token (needed for `jobod worker` nodes)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Name to show and to refer to the node by [default: its host:port]')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'How the server talks to the node')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;node;ls' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;node;rm' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Remove even if jobs run there; they go back to the queue')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;node;drain' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;node;undrain' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;node;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List nodes with their slots, load and health')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove nodes (by id or name)')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Stop sending new jobs to nodes; running ones finish')
            [CompletionResult]::new('undrain', 'undrain', [CompletionResultType]::ParameterValue, 'Send new jobs to drained nodes again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;node;help;add' {
            break
        }
        'jobo;node;help;ls' {
            break
        }
        'jobo;node;help;rm' {
            break
        }
        'jobo;node;help;drain' {
            break
        }
        'jobo;node;help;undrain' {
            break
        }
        'jobo;node;help;help' {
            break
        }
        'jobo;token' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a token and print its secret, once, to stdout')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List tokens (never their secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke tokens by id: they stop working at once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;token;create' {
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'The user the token speaks for')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The user the token speaks for')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'What the token may do')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Lifetime, e.g. 12h, 30d [default: never expires]')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;token;ls' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;token;revoke' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;token;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a token and print its secret, once, to stdout')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List tokens (never their secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke tokens by id: they stop working at once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;token;help;create' {
            break
        }
        'jobo;token;help;ls' {
            break
        }
        'jobo;token;help;revoke' {
            break
        }
        'jobo;token;help;help' {
            break
        }
        'jobo;system' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Version, mode, data dir, config file, what it enforces, nodes')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;system;info' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;system;stop' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;system;help' {
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Version, mode, data dir, config file, what it enforces, nodes')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;system;help;info' {
            break
        }
        'jobo;system;help;stop' {
            break
        }
        'jobo;system;help;help' {
            break
        }
        'jobo;completions' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The server: unix:///path/to/jobod.sock, http://host:port, https://host:port, or tcp://host:port and host:port (plain HTTP) [default: the local socket, starting a per-user jobod if none answers]')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'API token for http(s):// hosts (`jobo token create`) [default: JOBO_TOKEN, then the first line of $XDG_CONFIG_HOME/jobo/token]; never sent over the socket. Prefer JOBO_TOKEN or the file: other users can read a command line')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'For https:// hosts: trust only the CA certificate in FILE (PEM) [default: the system''s trusted CAs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print machine-readable JSON instead of tables and text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobo;help' {
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Upload a job directory and print the job id')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Submit, stream the output, fetch the results into ./jobo-ID, exit with the job''s code')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show recent jobs, or the details of the given ones')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List jobs, newest first')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until the jobs end; exit non-zero unless all succeeded')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Print a job''s output (stdout to stdout, stderr to stderr)')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Download and unpack a finished job''s results')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel queued or running jobs')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove finished jobs'' files (their history stays)')
            [CompletionResult]::new('service', 'service', [CompletionResultType]::ParameterValue, 'Services this server runs')
            [CompletionResult]::new('node', 'node', [CompletionResultType]::ParameterValue, 'Worker nodes this server sends jobs to (admins only)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'API tokens for TCP clients and portals (admins only)')
            [CompletionResult]::new('system', 'system', [CompletionResultType]::ParameterValue, 'The server: what it is and runs with, and stopping it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobo;help;submit' {
            break
        }
        'jobo;help;run' {
            break
        }
        'jobo;help;status' {
            break
        }
        'jobo;help;list' {
            break
        }
        'jobo;help;wait' {
            break
        }
        'jobo;help;logs' {
            break
        }
        'jobo;help;fetch' {
            break
        }
        'jobo;help;cancel' {
            break
        }
        'jobo;help;rm' {
            break
        }
        'jobo;help;service' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List services with their quotas and current load')
            break
        }
        'jobo;help;service;ls' {
            break
        }
        'jobo;help;node' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a worker node (`jobod worker`, or a seed node with --protocol seed)')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List nodes with their slots, load and health')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove nodes (by id or name)')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Stop sending new jobs to nodes; running ones finish')
            [CompletionResult]::new('undrain', 'undrain', [CompletionResultType]::ParameterValue, 'Send new jobs to drained nodes again')
            break
        }
        'jobo;help;node;add' {
            break
        }
        'jobo;help;node;ls' {
            break
        }
        'jobo;help;node;rm' {
            break
        }
        'jobo;help;node;drain' {
            break
        }
        'jobo;help;node;undrain' {
            break
        }
        'jobo;help;token' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a token and print its secret, once, to stdout')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List tokens (never their secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke tokens by id: they stop working at once')
            break
        }
        'jobo;help;token;create' {
            break
        }
        'jobo;help;token;ls' {
            break
        }
        'jobo;help;token;revoke' {
            break
        }
        'jobo;help;system' {
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Version, mode, data dir, config file, what it enforces, nodes')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop jobod as SIGTERM does, and wait until it is gone (admins only)')
            break
        }
        'jobo;help;system;info' {
            break
        }
        'jobo;help;system;stop' {
            break
        }
        'jobo;help;completions' {
            break
        }
        'jobo;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
