"""moto's server, serialized like src/local/moto-serial.py, with IAM users seeded in-process before it listens:
creating them through moto's backend takes a second or two where 20,000 HTTP calls would take minutes.

Usage: python3 moto-seeded.py HOST PORT USERS OWNERS PATH GROUP[,GROUP...] [MANIFEST [SECOND_KEY_EVERY]]
Users are named bench-user-00000..., owned (tag slack-user-id) by U0BENCH000...U0BENCH<OWNERS-1> in turn, each in
one of the groups, with one access key (two for every SECOND_KEY_EVERY-th user when given), and every third with a
console password. MANIFEST: a JSON file to write each user's owner and key ids and creation times to (never a secret).
"""
import json
import sys
import threading

try:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple
except ImportError:
    sys.stderr.write("moto is not installed. Install it with: pip install 'moto[server]'\n")
    sys.exit(3)

host, port, users, owners, path, groups = (
    sys.argv[1],
    int(sys.argv[2]),
    int(sys.argv[3]),
    int(sys.argv[4]),
    sys.argv[5],
    sys.argv[6].split(","),
)
manifest_path = sys.argv[7] if len(sys.argv) > 7 else ""
second_every = int(sys.argv[8]) if len(sys.argv) > 8 else 0
manifest = []
iam = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
for group in groups:
    iam.create_group(group, "/")
for i in range(users):
    name = f"bench-user-{i:05d}"
    iam.create_user("us-east-1", name, path=path, tags=[{"Key": "slack-user-id", "Value": f"U0BENCH{i % owners:03d}"}])
    iam.add_user_to_group(groups[i % len(groups)], name)
    keys = [iam.create_access_key(name)]
    if second_every and i % second_every == 0:
        keys.append(iam.create_access_key(name))
    if i % 3 == 0:
        iam.create_login_profile(name, "Bench-only-password-1!")
    manifest.append(
        {
            "name": name,
            "owner": f"U0BENCH{i % owners:03d}",
            "console": i % 3 == 0,
            "keys": [{"id": k.access_key_id, "created": k.create_date.isoformat()} for k in keys],
        }
    )
if manifest_path:
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    with lock:
        return list(app(environ, start_response))


run_simple(host, port, serialized, threaded=True, use_reloader=False)
