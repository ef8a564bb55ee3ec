# Sourced by the serve benchmarks: start_serve HDR MODEL starts `hdr serve MODEL` on a free port
# of the loopback and sets `work` (a temporary folder holding one exported 28x28 PNG in
# $work/png and the server's log), `server` (its pid, killed on exit) and `port`.
start_serve() {
  local hdr="$1" model="$2"
  work=$(mktemp -d)
  server=""
  trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
  "$hdr" data --export "$work/png" --count 1 >/dev/null
  "$hdr" serve "$model" --port 0 2>"$work/serve.log" &
  server=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/serve.log" >&2; echo "the server did not start" >&2; exit 1; }
  sed -n 's/^serve: model/model/p' "$work/serve.log"
}
