#!/usr/bin/env python3
"""Mixed assign/revoke load on pools kept near full, over HTTP, Apple far away: does every
device answered `assigned` hold its licence at Apple once delivery drained?

Usage: scripts/answered-means-held.py [--allot PATH] [--batches N] [--latency-ms MS]
                                      [--jitter-ms MS] [--nodes 1|2] [--postgres URL]
                                      [--licences N] [--devices N] [--clients N] [--seed N]

Starts `allot sim serve` (Apple's stand-in, with latency and jitter, so answers arrive out of
order), one or two `allot serve` nodes (two need --postgres, an empty database's URL), a
tenant with one token, and N keyed batches from several clients: 60% assign, 40% revoke, one to
three devices each, every client owning its own devices (so each device's last answer is
known). A sync runs every second meanwhile. Then it waits until the outbox drained and prints:
- answered holdings undone: devices whose last answer was `assigned` (or `already_assigned`)
  and that Apple does not hold;
- licences_released and over_allocated events;
- pool reads with licences elsewhere (there is no other server, so any is a phantom);
- the ledger and Apple equal or not.
Everything listens on 127.0.0.1 and is stopped at the end.
"""
import argparse, json, os, random, re, shutil, signal, subprocess, sys, tempfile, threading, time
import urllib.request, urllib.error

APP = "361309726"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allot", default=os.path.join(here, "..", ".build", "debug", "allot"))
    parser.add_argument("--batches", type=int, default=1600)
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--jitter-ms", type=int, default=200)
    parser.add_argument("--nodes", type=int, choices=[1, 2], default=1)
    parser.add_argument("--postgres", help="an empty PostgreSQL database's URL (needed for two nodes)")
    parser.add_argument("--licences", type=int, default=20)
    parser.add_argument("--devices", type=int, default=32)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole run")
    args = parser.parse_args()
    if args.nodes == 2 and not args.postgres:
        parser.error("two nodes share a PostgreSQL database: give --postgres URL")
    random.seed(args.seed)
    folder = tempfile.mkdtemp(prefix="allot-held-")
    processes = []
    deadline = time.time() + args.timeout
    try:
        run(args, folder, processes, deadline)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def start(command, env, pattern, processes, log):
    """Starts a process and waits (at most 60 s) for `pattern` in its output; returns the match."""
    out = open(log, "w+")
    process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    processes.append(process)
    limit = time.time() + 60
    while time.time() < limit:
        out.seek(0)
        match = re.search(pattern, out.read())
        if match:
            return match.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    out.seek(0)
    raise SystemExit(f"{' '.join(command[:2])} did not start: {out.read()[-2000:]}")


def call(method, url, key=None, body=None, headers=None, timeout=60):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if body is not None and not isinstance(body, bytes):
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def run(args, folder, processes, deadline):
    allot = os.path.abspath(args.allot)
    env = dict(os.environ)
    env["ALLOT_ADMIN_KEY"] = admin = "held-" + os.urandom(12).hex()
    env["ALLOT_SECRET_KEY"] = __import__("base64").b64encode(os.urandom(32)).decode()
    env["ALLOT_DB"] = args.postgres or os.path.join(folder, "allot.sqlite")
    seed = {"locations": [{"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools",
                           "expires": "2030-09-01T00:00:00Z", "mdmInfo": None,
                           "assets": [{"adamId": APP, "pricingParam": "STDQ", "productType": "App",
                                       "total": args.licences, "deviceAssignable": True, "revocable": True}]}]}
    with open(os.path.join(folder, "seed.json"), "w") as file:
        json.dump(seed, file)
    state = os.path.join(folder, "sim.json")
    subprocess.run([allot, "sim", "init", "--seed", os.path.join(folder, "seed.json"), "--state", state,
                    "--tokens-dir", os.path.join(folder, "tokens")], check=True, env=env, stdout=subprocess.DEVNULL)
    apple = start([allot, "sim", "serve", "--state", state, "--port", "0", "--latency-ms", str(args.latency_ms),
                   "--jitter-ms", str(args.jitter_ms)], env, r"at (http://127\.0\.0\.1:\d+)", processes,
                  os.path.join(folder, "sim.log"))
    env["ALLOT_APPLE"] = apple
    nodes = [start([allot, "serve", "--port", "0", "--drain-seconds", "5", "--lease-seconds", "35"], env,
                   r"serving the HTTP API on (http://[0-9.]+:\d+)", processes, os.path.join(folder, f"node{n}.log"))
             for n in range(args.nodes)]
    status, created = call("POST", nodes[0] + "/v1/tenants", admin, {"slug": "springfield"})
    assert status == 201, created
    key = created["apiKey"]
    tenant = lambda node: node + "/v1/tenants/springfield"
    with open(os.path.join(folder, "tokens", "1001.vpptoken"), "rb") as file:
        status, added = call("POST", tenant(nodes[0]) + "/tokens", key, file.read())
    assert status == 201, added
    serials = [f"HELD{n:08d}" for n in range(args.devices)]
    status, registered = call("POST", tenant(nodes[0]) + "/devices", key, {"devices": [{"serialNumber": s} for s in serials]})
    assert status == 200, registered

    last_answer = {}
    counts = {"assign": 0, "revoke": 0, "unavailable": 0, "failed": 0}
    phantom_reads = []
    lock = threading.Lock()
    next_batch = iter(range(args.batches))
    stop_syncing = threading.Event()

    def client(index):
        mine = serials[index::args.clients]
        rng = random.Random(args.seed * 1000 + index)
        while time.time() < deadline:
            with lock:
                number = next(next_batch, None)
            if number is None:
                return
            direction = "assign" if rng.random() < 0.6 else "revoke"
            chosen = rng.sample(mine, min(len(mine), rng.randint(1, 3)))
            route = "/assignments" if direction == "assign" else "/revocations"
            node = nodes[number % len(nodes)]
            for _ in range(20):
                status, answer = call("POST", tenant(node) + route, key, {"app": APP, "serialNumbers": chosen},
                                      {"Idempotency-Key": f"held-{args.seed}-{number}"})
                if status != 503:
                    break
                with lock:
                    counts["unavailable"] += 1
                time.sleep(1)
            with lock:
                if status != 200:
                    counts["failed"] += 1
                    continue
                counts[direction] += 1
                for item in answer["items"]:
                    last_answer[item["serialNumber"]] = item["result"]

    def syncer():
        while not stop_syncing.wait(1.0):
            status, answer = call("POST", tenant(nodes[0]) + "/sync", key)
            if status != 200:
                continue
            status, apps = call("GET", tenant(nodes[0]) + "/apps", key)
            for app in (apps or {}).get("apps", []):
                for token in app["tokens"]:
                    elsewhere = token["assigned"] - token.get("assignedHere", token["assigned"])
                    if elsewhere > 0:
                        with lock:
                            phantom_reads.append(elsewhere)

    started = time.time()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    sync_thread = threading.Thread(target=syncer)
    sync_thread.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered_seconds = time.time() - started
    stop_syncing.set()
    sync_thread.join()

    # Delivery drains: the nodes deliver on their own; ask now and again until nothing is left.
    unfinished = None
    while time.time() < deadline:
        status, pushed = call("POST", tenant(nodes[0]) + "/push", key, timeout=120)
        unfinished = (pushed or {}).get("unfinished")
        if status == 200 and unfinished == 0:
            break
        time.sleep(1)
    held = subprocess.run([allot, "sim", "assignments", "--state", state, "--json"], env=env, capture_output=True, check=True)
    at_apple = {a["serialNumber"] for a in json.loads(held.stdout)["assignments"]}
    status, ledger = call("GET", tenant(nodes[0]) + f"/devices", key)
    answered = {s for s, result in last_answer.items() if result in ("assigned", "already_assigned")}
    undone = sorted(answered - at_apple)
    status, released = call("GET", tenant(nodes[0]) + "/events?kind=licences_released&limit=1000", key)
    status, over = call("GET", tenant(nodes[0]) + "/events?kind=over_allocated&limit=1000", key)
    status, apps = call("GET", tenant(nodes[0]) + "/apps", key)
    assigned_here = sum(t["assignedHere"] for a in apps["apps"] for t in a["tokens"])
    print(json.dumps({
        "batches": args.batches, "nodes": args.nodes, "latencyMs": args.latency_ms, "jitterMs": args.jitter_ms,
        "licences": args.licences, "devices": args.devices,
        "answered": {"assign": counts["assign"], "revoke": counts["revoke"]},
        "retriedAfter503": counts["unavailable"], "notAnswered": counts["failed"],
        "secondsToAnswer": round(answered_seconds, 1), "unfinishedAtEnd": unfinished,
        "answeredHoldingsUndone": len(undone), "undoneSerials": undone[:10],
        "licencesReleasedEvents": len((released or {}).get("events", [])),
        "overAllocatedEvents": len((over or {}).get("events", [])),
        "poolReadsWithLicencesElsewhere": len(phantom_reads),
        "ledgerAssigned": assigned_here, "appleHolds": len(at_apple),
        "appleEqualsAnswered": at_apple == answered,
    }, indent=2))


if __name__ == "__main__":
    main()
