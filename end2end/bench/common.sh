# Shared by end2end/bench/run, end2end/bench/instructions and end2end/bench/syscalls (sourced, not run): the
# loopback fixture of the proxy benchmarks. The origin is nginx returning a fixed 200; nginx as a plain reverse
# proxy (1 worker, keep-alive upstream pool of 64); Gatehouse (release build, 1 worker) with one route and no
# plugins, and a second route with gluu-oauth-auth + gluu-oauth-pep against the real test OP of end2end/op (one
# client-credentials token, so every request after the first is a token-cache hit plus the PEP's rule evaluation),
# and a third route of the same shape without plugins (`/plain`), which gets the same request as the OAuth route
# (path length and Authorization header alike): the difference between the two is what the plugins cost.
# Everything listens on 127.0.0.1 only.
ORIGIN=18081 NGINX=18082 GATEHOUSE=18083 ADMIN=18084 OXD=18085 OP=18086

command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "bench: needs nginx and wrk (apt-get install nginx wrk)" >&2; exit 1; }
# GATEHOUSE_BIN measures another build (for example the one before a change) instead of building this tree.
if [ -z "${GATEHOUSE_BIN:-}" ]; then cargo build --quiet --release -p server; fi
bin=${GATEHOUSE_BIN:-${CARGO_TARGET_DIR:-target}/release/gatehouse}

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

nginx_conf() { # name, extra main-context lines, body of the http block
  cat > "$work/$1.conf" <<CONF
worker_processes 1;
daemon off;
$2
pid $work/$1.pid;
error_log $work/$1.error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/$1-body;
  proxy_temp_path $work/$1-proxy;
  fastcgi_temp_path $work/$1-fastcgi;
  uwsgi_temp_path $work/$1-uwsgi;
  scgi_temp_path $work/$1-scgi;
  keepalive_requests 100000;
  $3
}
CONF
}
nginx_conf origin "" "server { listen 127.0.0.1:$ORIGIN; location / { return 200 'hello from the origin\n'; } }"
nginx_conf proxy "${NGINX_MAIN:-}" "upstream origin { server 127.0.0.1:$ORIGIN; keepalive 64; }
  server { listen 127.0.0.1:$NGINX; location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
nginx -c "$work/origin.conf" & pids+=($!)
# shellcheck disable=SC2086 # the wrapper is words (valgrind and its options)
${NGINX_WRAPPER:-} nginx -c "$work/proxy.conf" & pids+=($!)
nginx_pid=$!

# GATEHOUSE_WRAPPER runs it under another program (valgrind); GATEHOUSE_SETTINGS adds settings (words), later
# ones overriding earlier ones. Gatehouse runs as the nginx proxy does, with one worker
# (GATEHOUSE_SETTINGS="--nginx_worker_processes auto" for its default, one per core).
# Upstream connections are kept as nginx's are: up to 64 idle ones (nginx's `keepalive 64` above; Kong's and
# Gatehouse's default of 60 would close one in about a hundred under 64 concurrent requests and open a new one),
# each reused for 1,000 requests (nginx's `keepalive_requests` default; Kong's and Gatehouse's default is 100).
# shellcheck disable=SC2086,SC2206
${GATEHOUSE_WRAPPER:-} "$bin" start --prefix "$work/gatehouse" --log_level warn --proxy_listen "127.0.0.1:$GATEHOUSE" \
  --admin_listen "127.0.0.1:$ADMIN" --admin_gui_listen off --oxd_listen "127.0.0.1:$OXD ssl" \
  --nginx_worker_processes 1 --upstream_keepalive_pool_size 64 --upstream_keepalive_max_requests 1000 ${GATEHOUSE_SETTINGS:-} \
  > "$work/gatehouse.log" 2>&1 & pids+=($!)
gatehouse_pid=$!
node end2end/op/server.js --port "$OP" > "$work/op.out" 2> "$work/op.log" & pids+=($!)
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$ADMIN/status" >/dev/null && break; sleep 0.1; done
curl -fs -X PUT "http://127.0.0.1:$ADMIN/services/origin" --data "url=http://127.0.0.1:$ORIGIN" >/dev/null
curl -fs -X POST "http://127.0.0.1:$ADMIN/services/origin/routes" --data 'paths[]=/' >/dev/null
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$GATEHOUSE/" >/dev/null && break; sleep 0.05; done

# The OAuth route: a site registered through the embedded oxd module, a consumer for it, both Gluu plugins.
for _ in $(seq 100); do grep -q OP_READY "$work/op.out" 2>/dev/null && break; sleep 0.1; done
oxd() { curl -fsk "https://127.0.0.1:$OXD/$1" -H 'content-type: application/json' -d "$2"; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
site=$(oxd register-site "{\"op_host\":\"http://127.0.0.1:$OP\",\"redirect_uris\":[\"https://bench.example/cb\"],\"scope\":[\"openid\",\"oxd\",\"email\"],\"grant_types\":[\"client_credentials\"]}")
oxd_id=$(echo "$site" | field oxd_id); client_id=$(echo "$site" | field client_id); secret=$(echo "$site" | field client_secret)
new_token() {
  oxd get-client-token "{\"op_host\":\"http://127.0.0.1:$OP\",\"client_id\":\"$client_id\",\"client_secret\":\"$secret\",\"scope\":[\"email\"]}" | field access_token
}
token=$(new_token)
curl -fs -X PUT "http://127.0.0.1:$ADMIN/consumers/bench" --data "custom_id=$client_id" >/dev/null
curl -fs -X POST "http://127.0.0.1:$ADMIN/services/origin/routes" --data 'name=oauth' --data 'paths[]=/oauth' >/dev/null
curl -fs -X POST "http://127.0.0.1:$ADMIN/services/origin/routes" --data 'name=plain' --data 'paths[]=/plain' >/dev/null
gluu="\"oxd_id\":\"$oxd_id\",\"client_id\":\"$client_id\",\"client_secret\":\"$secret\",\"op_url\":\"http://127.0.0.1:$OP\",\"oxd_url\":\"https://127.0.0.1:$OXD\""
doc='[{\"path\":\"/oauth/??\",\"conditions\":[{\"httpMethods\":[\"GET\"],\"scope_expression\":{\"rule\":{\"and\":[{\"var\":0}]},\"data\":[\"email\"]}}]}]'
curl -fs -X POST "http://127.0.0.1:$ADMIN/routes/oauth/plugins" -H 'content-type: application/json' \
  -d "{\"name\":\"gluu-oauth-auth\",\"config\":{$gluu}}" >/dev/null
curl -fs -X POST "http://127.0.0.1:$ADMIN/routes/oauth/plugins" -H 'content-type: application/json' \
  -d "{\"name\":\"gluu-oauth-pep\",\"config\":{$gluu,\"oauth_scope_expression\":\"$doc\"}}" >/dev/null
for _ in $(seq 600); do curl -fs -H "authorization: Bearer $token" "http://127.0.0.1:$GATEHOUSE/oauth/x" >/dev/null && break; sleep 0.05; done
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$NGINX/" >/dev/null && break; sleep 0.05; done

# The measured process of nginx: its worker, or nginx itself when it runs with `master_process off`.
nginx_worker=$(pgrep -P "$nginx_pid" | head -1 || true)
nginx_worker=${nginx_worker:-$nginx_pid}
# `target NAME` sets what one measured target is: target_pid (whose CPU time counts; none for the origin),
# target_port, target_path and target_header (the OAuth route and `plain` get the same request).
target() {
  target_path=/ target_header=
  case $1 in
    origin) target_pid='' target_port=$ORIGIN ;;
    nginx) target_pid=$nginx_worker target_port=$NGINX ;;
    gatehouse) target_pid=$gatehouse_pid target_port=$GATEHOUSE ;;
    plain | oauth)
      target_pid=$gatehouse_pid target_port=$GATEHOUSE target_path=/$1/x target_header="Authorization: Bearer $token" ;;
    *) echo "bench: no target $1 (origin, nginx, gatehouse, plain, oauth)" >&2; return 1 ;;
  esac
}
