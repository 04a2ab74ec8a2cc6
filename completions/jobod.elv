
use builtin;
use str;

set edit:completion:arg-completer[jobod] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'jobod'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'jobod'= {
            cand --data-dir 'Data directory (job store, job files)'
            cand --socket 'Unix socket to serve the API on'
            cand --socket-group 'Group whose members may use the socket (it becomes mode 0660, this group) [default in system mode: jobo if that group exists, else jobod''s own group; in user mode: none, 0600]'
            cand --listen 'Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)'
            cand --seed-listen 'Serve only the seed routes, without a token, on this TCP address (for portals written for job-orchestrator; bind it to localhost): `[server] seed_listen`'
            cand --tls-cert 'Serve TCP (--listen) inside TLS with this certificate (PEM, the chain from the server''s own first): `[server] tls_cert`'
            cand --tls-key 'The private key of --tls-cert (PEM): `[server] tls_key`'
            cand --config 'Config file [default: jobod.toml in the mode''s config dir, if it exists]'
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand --system 'System mode: /var/lib/jobo, /run/jobo/jobod.sock, /etc/jobo/jobod.toml [default for root]'
            cand --user 'User mode (XDG paths) even when running as root'
            cand --no-local-worker 'Do not run jobs on this machine (only on worker nodes)'
            cand --reinit 'Start over if the job store is missing, empty, damaged or another data dir''s, instead of refusing to start: the store and jobs/ are renamed to *.orphaned-<time>, nothing is deleted. Does nothing when the store is sound'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the server (the default)'
            cand worker 'Run a worker node: run payloads sent by a server, serve the seed''s client routes'
            cand check 'Check the job store and the job files; exit 1 if there are problems'
            cand backup 'Write a consistent copy of the job store to PATH, also while jobod serves'
            cand config 'Configuration helpers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobod;serve'= {
            cand --data-dir 'Data directory (job store, job files)'
            cand --socket 'Unix socket to serve the API on'
            cand --socket-group 'Group whose members may use the socket (it becomes mode 0660, this group) [default in system mode: jobo if that group exists, else jobod''s own group; in user mode: none, 0600]'
            cand --listen 'Also serve the API on TCP, e.g. 127.0.0.1:5000 (port 0 picks a free port)'
            cand --seed-listen 'Serve only the seed routes, without a token, on this TCP address (for portals written for job-orchestrator; bind it to localhost): `[server] seed_listen`'
            cand --tls-cert 'Serve TCP (--listen) inside TLS with this certificate (PEM, the chain from the server''s own first): `[server] tls_cert`'
            cand --tls-key 'The private key of --tls-cert (PEM): `[server] tls_key`'
            cand --config 'Config file [default: jobod.toml in the mode''s config dir, if it exists]'
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand --system 'System mode: /var/lib/jobo, /run/jobo/jobod.sock, /etc/jobo/jobod.toml [default for root]'
            cand --user 'User mode (XDG paths) even when running as root'
            cand --no-local-worker 'Do not run jobs on this machine (only on worker nodes)'
            cand --reinit 'Start over if the job store is missing, empty, damaged or another data dir''s, instead of refusing to start: the store and jobs/ are renamed to *.orphaned-<time>, nothing is deleted. Does nothing when the store is sound'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobod;worker'= {
            cand --listen 'Address to serve on, e.g. 0.0.0.0:5001 (port 0 picks a free port; the bound address is written to jobod-worker.tcp in the data dir)'
            cand --token-file 'File whose first line is the node token (requests need `Authorization: Bearer <token>`)'
            cand --slots 'Payloads run at once [default: number of CPUs]'
            cand --data-dir 'Data directory (payload dirs, emptied at start) [default: `worker` in the default data dir]'
            cand --cgroups 'Run payloads in cgroups where they can be made (memory, cpus and pids limits, the whole payload killed at its end, its usage measured), one per slot; `--cgroups=false`: memory by RLIMIT_AS only, and only the payload''s process group killed'
            cand --run-as-allow 'Users a root node may run payloads as: the server names one with each payload, and payloads of the seed''s /submit run as the first. A node that is not root runs them as itself and ignores this'
            cand --tls-cert 'Serve inside TLS with this certificate (PEM, the chain from the node''s own first)'
            cand --tls-key 'The private key of --tls-cert (PEM)'
            cand --tls-client-ca 'Take only clients that show a certificate signed by this CA (PEM): the server''s `[cluster] client_cert` (needs --tls-cert)'
            cand --max-upload-bytes 'Largest payload taken, in bytes: the tar as sent and its files unpacked (the server''s `[server] max_upload_bytes` bounds what it sends; a larger job fails naming this limit)'
            cand --max-upload-entries 'Most files and directories one payload may create'
            cand --backend 'Where payloads run: here (local), or each as one Slurm batch job (slurm: run this on a Slurm submit host, with --data-dir on storage the compute nodes see)'
            cand --partition 'Slurm partition of every job (--backend slurm)'
            cand --account 'Slurm account of every job (--backend slurm)'
            cand --sbatch-arg 'One more sbatch argument for every job, e.g. --sbatch-arg=--qos=short (repeatable; --backend slurm)'
            cand --slurm-poll 'How often Slurm is asked about the node''s jobs (one squeue for all), when none is about to end (then every 250ms) (--backend slurm)'
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand --allow-seed-without-token 'Serve the seed''s client routes without a token (for the seed''s server, which sends none). Only on a private network: anyone who reaches the port can run code'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobod;check'= {
            cand --data-dir 'Data directory (job store, job files)'
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand --system 'System mode''s data dir, /var/lib/jobo [default for root]'
            cand --user 'User mode''s data dir (XDG) even when running as root'
            cand --fix 'Remove orphan job dirs (never a job''s row). Refused while jobod runs on the data dir'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'jobod;backup'= {
            cand --data-dir 'Data directory (job store, job files)'
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand --system 'System mode''s data dir, /var/lib/jobo [default for root]'
            cand --user 'User mode''s data dir (XDG) even when running as root'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'jobod;config'= {
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand default 'Print the built-in default configuration'
            cand import-seed 'Print a jobod.toml made from job-orchestrator 2.3.1''s environment variables'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobod;config;default'= {
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'jobod;config;import-seed'= {
            cand --log-format 'How log lines are written to stderr: text, or one JSON object a line (for log collectors)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'jobod;config;help'= {
            cand default 'Print the built-in default configuration'
            cand import-seed 'Print a jobod.toml made from job-orchestrator 2.3.1''s environment variables'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobod;config;help;default'= {
        }
        &'jobod;config;help;import-seed'= {
        }
        &'jobod;config;help;help'= {
        }
        &'jobod;help'= {
            cand serve 'Run the server (the default)'
            cand worker 'Run a worker node: run payloads sent by a server, serve the seed''s client routes'
            cand check 'Check the job store and the job files; exit 1 if there are problems'
            cand backup 'Write a consistent copy of the job store to PATH, also while jobod serves'
            cand config 'Configuration helpers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobod;help;serve'= {
        }
        &'jobod;help;worker'= {
        }
        &'jobod;help;check'= {
        }
        &'jobod;help;backup'= {
        }
        &'jobod;help;config'= {
            cand default 'Print the built-in default configuration'
            cand import-seed 'Print a jobod.toml made from job-orchestrator 2.3.1''s environment variables'
        }
        &'jobod;help;config;default'= {
        }
        &'jobod;help;config;import-seed'= {
        }
        &'jobod;help;help'= {
        }
    ]
    $completions[$command]
}
