
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'jobod' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'jobod'
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
        'jobod' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (job store, job files)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'Unix socket to serve the API on')
            [CompletionResult]::new('--socket-group', '--socket-group', [CompletionResultType]::ParameterName, 'Group whose members may use the socket (it becomes mode 0660, this group) [default in system mode: jobo if that group exists, else jobod''s own group; in user mode: none, 0600]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)')
            [CompletionResult]::new('--seed-listen', '--seed-listen', [CompletionResultType]::ParameterName, 'Serve only the seed routes, without a token, on this TCP address (for portals written for job-orchestrator; bind it to localhost): `[server] seed_listen`')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve TCP (--listen) inside TLS with this certificate (PEM, the chain from the server''s own first): `[server] tls_cert`')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert (PEM): `[server] tls_key`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: jobod.toml in the mode''s config dir, if it exists]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System mode: /var/lib/jobo, /run/jobo/jobod.sock, /etc/jobo/jobod.toml [default for root]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User mode (XDG paths) even when running as root')
            [CompletionResult]::new('--no-local-worker', '--no-local-worker', [CompletionResultType]::ParameterName, 'Do not run jobs on this machine (only on worker nodes)')
            [CompletionResult]::new('--reinit', '--reinit', [CompletionResultType]::ParameterName, 'Start over if the job store is missing, empty, damaged or another data dir''s, instead of refusing to start: the store and jobs/ are renamed to *.orphaned-<time>, nothing is deleted. Does nothing when the store is sound')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the server (the default)')
            [CompletionResult]::new('worker', 'worker', [CompletionResultType]::ParameterValue, 'Run a worker node: run payloads sent by a server, serve the seed''s client routes')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the job store and the job files; exit 1 if there are problems')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Write a consistent copy of the job store to PATH, also while jobod serves')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Configuration helpers')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobod;serve' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (job store, job files)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'Unix socket to serve the API on')
            [CompletionResult]::new('--socket-group', '--socket-group', [CompletionResultType]::ParameterName, 'Group whose members may use the socket (it becomes mode 0660, this group) [default in system mode: jobo if that group exists, else jobod''s own group; in user mode: none, 0600]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)')
            [CompletionResult]::new('--seed-listen', '--seed-listen', [CompletionResultType]::ParameterName, 'Serve only the seed routes, without a token, on this TCP address (for portals written for job-orchestrator; bind it to localhost): `[server] seed_listen`')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve TCP (--listen) inside TLS with this certificate (PEM, the chain from the server''s own first): `[server] tls_cert`')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert (PEM): `[server] tls_key`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file [default: jobod.toml in the mode''s config dir, if it exists]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System mode: /var/lib/jobo, /run/jobo/jobod.sock, /etc/jobo/jobod.toml [default for root]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User mode (XDG paths) even when running as root')
            [CompletionResult]::new('--no-local-worker', '--no-local-worker', [CompletionResultType]::ParameterName, 'Do not run jobs on this machine (only on worker nodes)')
            [CompletionResult]::new('--reinit', '--reinit', [CompletionResultType]::ParameterName, 'Start over if the job store is missing, empty, damaged or another data dir''s, instead of refusing to start: the store and jobs/ are renamed to *.orphaned-<time>, nothing is deleted. Does nothing when the store is sound')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobod;worker' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to serve on, e.g. 0.0.0.0:5001 (port 0 picks a free port; the bound address is written to jobod-worker.tcp in the data dir)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File whose first line is the node token (requests need `Authorization: Bearer <token>`)')
            [CompletionResult]::new('--slots', '--slots', [CompletionResultType]::ParameterName, 'Payloads run at once [default: number of CPUs]')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (payload dirs, emptied at start) [default: `worker` in the default data dir]')
            [CompletionResult]::new('--cgroups', '--cgroups', [CompletionResultType]::ParameterName, 'Run payloads in cgroups where they can be made (memory, cpus and pids limits, the whole payload killed at its end, its usage measured), one per slot; `--cgroups=false`: memory by RLIMIT_AS only, and only the payload''s process group killed')
            [CompletionResult]::new('--run-as-allow', '--run-as-allow', [CompletionResultType]::ParameterName, 'Users a root node may run payloads as: the server names one with each payload, and payloads of the seed''s /submit run as the first. A node that is not root runs them as itself and ignores this')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve inside TLS with this certificate (PEM, the chain from the node''s own first)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert (PEM)')
            [CompletionResult]::new('--tls-client-ca', '--tls-client-ca', [CompletionResultType]::ParameterName, 'Take only clients that show a certificate signed by this CA (PEM): the server''s `[cluster] client_cert` (needs --tls-cert)')
            [CompletionResult]::new('--max-upload-bytes', '--max-upload-bytes', [CompletionResultType]::ParameterName, 'Largest payload taken, in bytes: the tar as sent and its files unpacked (the server''s `[server] max_upload_bytes` bounds what it sends; a larger job fails naming this limit)')
            [CompletionResult]::new('--max-upload-entries', '--max-upload-entries', [CompletionResultType]::ParameterName, 'Most files and directories one payload may create')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where payloads run: here (local), or each as one Slurm batch job (slurm: run this on a Slurm submit host, with --data-dir on storage the compute nodes see)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Slurm partition of every job (--backend slurm)')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Slurm account of every job (--backend slurm)')
            [CompletionResult]::new('--sbatch-arg', '--sbatch-arg', [CompletionResultType]::ParameterName, 'One more sbatch argument for every job, e.g. --sbatch-arg=--qos=short (repeatable; --backend slurm)')
            [CompletionResult]::new('--slurm-poll', '--slurm-poll', [CompletionResultType]::ParameterName, 'How often Slurm is asked about the node''s jobs (one squeue for all), when none is about to end (then every 250ms) (--backend slurm)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('--allow-seed-without-token', '--allow-seed-without-token', [CompletionResultType]::ParameterName, 'Serve the seed''s client routes without a token (for the seed''s server, which sends none). Only on a private network: anyone who reaches the port can run code')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobod;check' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (job store, job files)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System mode''s data dir, /var/lib/jobo [default for root]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User mode''s data dir (XDG) even when running as root')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Remove orphan job dirs (never a job''s row). Refused while jobod runs on the data dir')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'jobod;backup' {
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory (job store, job files)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System mode''s data dir, /var/lib/jobo [default for root]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'User mode''s data dir (XDG) even when running as root')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'jobod;config' {
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('default', 'default', [CompletionResultType]::ParameterValue, 'Print the built-in default configuration')
            [CompletionResult]::new('import-seed', 'import-seed', [CompletionResultType]::ParameterValue, 'Print a jobod.toml made from job-orchestrator 2.3.1''s environment variables')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobod;config;default' {
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'jobod;config;import-seed' {
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'jobod;config;help' {
            [CompletionResult]::new('default', 'default', [CompletionResultType]::ParameterValue, 'Print the built-in default configuration')
            [CompletionResult]::new('import-seed', 'import-seed', [CompletionResultType]::ParameterValue, 'Print a jobod.toml made from job-orchestrator 2.3.1''s environment variables')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobod;config;help;default' {
            break
        }
        'jobod;config;help;import-seed' {
            break
        }
        'jobod;config;help;help' {
            break
        }
        'jobod;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the server (the default)')
            [CompletionResult]::new('worker', 'worker', [CompletionResultType]::ParameterValue, 'Run a worker node: run payloads sent by a server, serve the seed''s client routes')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the job store and the job files; exit 1 if there are problems')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Write a consistent copy of the job store to PATH, also while jobod serves')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Configuration helpers')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobod;help;serve' {
            break
        }
        'jobod;help;worker' {
            break
        }
        'jobod;help;check' {
            break
        }
        'jobod;help;backup' {
            break
        }
        'jobod;help;config' {
            [CompletionResult]::new('default', 'default', [CompletionResultType]::ParameterValue, 'Print the built-in default configuration')
            [CompletionResult]::new('import-seed', 'import-seed', [CompletionResultType]::ParameterValue, 'Print a jobod.toml made from job-orchestrator 2.3.1''s environment variables')
            break
        }
        'jobod;help;config;default' {
            break
        }
        'jobod;help;config;import-seed' {
            break
        }
        'jobod;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
