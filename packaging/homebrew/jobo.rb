# Homebrew formula for jobo: jobod (the server) and jobo (the CLI). Not in homebrew-core; install
# it from a tap of your own (README, "Install"). On a release, point `url` at the new tag and
# set `sha256` to the tarball's (`curl -sL URL | shasum -a 256`); until the first release, use
# `brew install --HEAD`.
class Jobo < Formula
  desc "Job orchestrator for scientific web portals and lab clusters"
  homepage "https://github.com/jobo-project/jobo"
  url "https://github.com/jobo-project/jobo/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"
  head "https://github.com/jobo-project/jobo.git", branch: "main"

  depends_on "rust" => :build
  # jobod uses Linux interfaces (/proc, PR_SET_CHILD_SUBREAPER); a macOS port is not done yet.
  depends_on :linux

  def install
    # Both binaries, jobo and jobod: std_cargo_args installs every bin target (--locked).
    system "cargo", "install", *std_cargo_args
    # From the binary's own clap definition: `jobo completions bash|zsh|fish`.
    generate_completions_from_executable(bin/"jobo", "completions")
    # Generated from the same definitions (`jobo __generate DIR`) and checked in.
    man1.install Dir["man/*.1"]
    man8.install Dir["man/*.8"]
  end

  # `brew services start jobo`: a per-user jobod (user mode: XDG data dir and socket, which is
  # where `jobo` looks), restarted if it crashes.
  service do
    run [opt_bin/"jobod", "serve", "--user"]
    keep_alive crashed: true
    log_path var/"log/jobod.log"
    error_log_path var/"log/jobod.log"
  end

  test do
    assert_match "jobo #{version}", shell_output("#{bin}/jobo --version")
    (testpath/"job/run.sh").write "echo hello from a jobo job\n"
    socket = testpath/"jobod.sock"
    pid = spawn bin/"jobod", "serve", "--user", "--data-dir", (testpath/"data").to_s,
                "--socket", socket.to_s
    begin
      50.times do
        break if socket.exist?

        sleep 0.2
      end
      output = shell_output("#{bin}/jobo --host unix://#{socket} run #{testpath}/job --service example")
      assert_match "hello from a jobo job", output
    ensure
      Process.kill("TERM", pid)
      Process.wait(pid)
    end
  end
end
