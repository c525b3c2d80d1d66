#!/usr/bin/env python3
"""Starts moto's S3-compatible server on loopback with signature checking on, for the tests.

moto checks nothing by default. With authentication on (INITIAL_NO_AUTH_ACTION_COUNT, here
switched to 0 through /moto-api/reset-auth once the setup is done), every request must carry a
valid AWS Signature Version 4 made with the secret of an IAM access key moto knows, and the key's
user must be allowed the action. So this script:

1. starts the server (moto's ThreadedMotoServer) on --host/--port (port 0: a free one);
2. seeds moto's random generator with --seed, so the same seed gives the same access key again
   (a test stops the server and starts another on the same port, and the client must keep working);
3. creates the IAM user `berth-tests` with an access key and an inline policy allowing everything,
   and the --bucket buckets;
4. switches authentication on for every later request;
5. prints one JSON line: {"endpoint", "region", "accessKeyId", "secretAccessKey"};
6. serves until SIGTERM/SIGINT, until its parent dies, or with --until-stdin-closes until its
   standard input closes (so a crashed test run leaves no server behind).

Run it with the python of the venv scripts/ensure-moto.sh makes.
Usage: moto-server.py [--host 127.0.0.1] [--port 0] [--seed 4242] [--bucket NAME]... [--until-stdin-closes]
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--bucket", action="append", default=[], help="create this bucket too (repeatable)")
    parser.add_argument("--until-stdin-closes", action="store_true", help="also stop when standard input reaches its end")
    args = parser.parse_args()

    import botocore.config
    import botocore.session
    from moto.server import ThreadedMotoServer

    parent = os.getppid()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    def post(path: str, body: bytes) -> None:
        request = urllib.request.Request(endpoint + path, data=body, method="POST", headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    post(f"/moto-api/seed?a={args.seed}", b"")
    iam = botocore.session.get_session().create_client(
        "iam", endpoint_url=endpoint, region_name=args.region,
        aws_access_key_id="setup", aws_secret_access_key="setup",
    )
    iam.create_user(UserName="berth-tests")
    iam.put_user_policy(
        UserName="berth-tests", PolicyName="everything",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    key = iam.create_access_key(UserName="berth-tests")["AccessKey"]
    if args.bucket:
        s3 = botocore.session.get_session().create_client(
            "s3", endpoint_url=endpoint, region_name=args.region,
            aws_access_key_id="setup", aws_secret_access_key="setup",
            config=botocore.config.Config(s3={"addressing_style": "path"}),
        )
        for bucket in args.bucket:
            s3.create_bucket(Bucket=bucket)
    post("/moto-api/reset-auth", b"0")

    print(json.dumps({
        "endpoint": endpoint, "region": args.region,
        "accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"],
    }), flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    if args.until_stdin_closes:
        threading.Thread(target=watch_stdin, daemon=True).start()
    while not done.wait(1):
        if os.getppid() != parent:
            break
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
