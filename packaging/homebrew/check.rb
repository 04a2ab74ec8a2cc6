# Checks jobo.rb without Homebrew (CI has none): `ruby check.rb jobo.rb` loads the formula
# against a stub of the Formula DSL, so a misspelt DSL call or a missing part (install, service,
# test) fails here rather than on a user's machine. `ruby -c` checks the syntax alone.
class Formula
  CALLS = []
  DSL = %i[desc homepage url sha256 license head depends_on service test].freeze
  DSL.each do |name|
    define_singleton_method(name) { |*_args, **_opts, &_block| CALLS << name }
  end
end

load ARGV.fetch(0)
formula = Object.const_get(:Jobo)
abort "jobo.rb: Jobo is no Formula" unless formula < Formula
missing = Formula::DSL - Formula::CALLS
abort "jobo.rb: no #{missing.join(', ')}" unless missing.empty?
abort "jobo.rb: no install method" unless formula.method_defined?(:install)
puts "jobo.rb: formula Jobo has #{Formula::DSL.join(', ')} and install"
