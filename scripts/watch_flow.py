#!/usr/bin/env python3
"""The flow scripts/watch-test sends to `cargo lambda watch`: register → login → GET /api/users/me →
create a post → read it. Prints a line about it, then the e-mail it registered.

    scripts/watch_flow.py BASE_URL
"""
import json, sys, time, urllib.error, urllib.request, uuid

base = sys.argv[1]

def call(method, path, body=None, token=None, expect=200):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    assert status == expect, f"{method} {path}: {status} {text[:300]!r}"
    return json.loads(text) if text else None

for _ in range(600):
    try:
        urllib.request.urlopen(base + "/", timeout=2)
        break
    except urllib.error.HTTPError:
        break
    except OSError:
        time.sleep(0.5)

email = f"watch-{uuid.uuid4().hex[:8]}@example.com"
started = time.monotonic()
user = call("POST", "/api/auth/register", {"email": email, "password": "correct horse battery", "name": "Watch"}, expect=201)
session = call("POST", "/api/auth/login", {"email": email, "password": "correct horse battery"})
me = call("GET", "/api/users/me", token=session["accessToken"])
assert me["id"] == user["user"]["id"], me
post = call("POST", "/api/posts", {"title": "Through cargo lambda watch", "content": "hello", "status": "published"}, token=session["accessToken"], expect=201)
read = call("GET", f"/api/posts/{post['id']}")
assert read["title"] == "Through cargo lambda watch", read
print(f"cargo lambda watch flow: register → login → me → create → read, {time.monotonic() - started:.0f} s with builds")
print(email)
