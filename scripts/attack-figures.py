#!/usr/bin/env python3
"""Attacks on a local `allot serve`, on loopback only, and how the server holds up.

Usage: scripts/attack-figures.py [--allot PATH] [--connections N] [--flood N] [--seconds S]
                                 [--trickle-seconds S] [--attacks a,b,c,d]
                                 [--other-client 127.0.0.2] [--serve-arg=ARG ...] [--json]

Starts a simulator state and `allot serve` (the binary given, a debug build by default) on
127.0.0.1 with Apple's notifications pointed at itself, then runs, one after the other:
  a. slow bodies: N connections each send `POST /v1/tenants/x/devices` with
     `Content-Length: 100000000`, no key, `{`, then one byte every --trickle-seconds;
  b. a connection flood: N connections opened and left idle;
  c. webhook SSRF: webhook URLs at loopback, private, link-local and metadata addresses in
     many spellings, registered with a tenant's key (an accepted one is removed at once);
  d. notification values: ASSET_COUNT with countDelta -2^63, a string, a fraction, 2^63.
During a and b, `/healthz` is asked once a second from another connection (answered/asked and
latency), and the server's resident memory (VmRSS) and open files (/proc/PID/fd) are sampled
once a second. The probe comes from 127.0.0.1, the attacker's address, which the per-address
bound refuses while the attacker holds its share; --other-client 127.0.0.2 (any 127/8
address) adds a second probe from another loopback address, a client the server counts apart.
Every socket connects to 127.0.0.1; nothing leaves the loopback interface. Everything the
script starts (sockets, the server) is stopped at the end, on Ctrl-C too.
"""
import argparse, errno, ipaddress, json, os, resource, secrets, selectors, shutil, signal, socket
import sqlite3, statistics, subprocess, sys, tempfile, threading, time
import http.client

HOST = "127.0.0.1"
SEED = {"locations": [{"uId": "1001", "locationName": "Main Campus", "orgName": "Springfield Schools",
                       "expires": "2030-09-01T00:00:00Z", "mdmInfo": None,
                       "assets": [{"adamId": "361309726", "pricingParam": "STDQ", "productType": "App", "total": 10,
                                   "deviceAssignable": True, "revocable": True}]}]}
# Hosts a webhook must never reach, in the spellings an attacker tries. Only literal addresses
# and names refused without DNS (metadata names, localhost): nothing here is ever resolved.
SSRF_URLS = [
    "https://127.0.0.1/hook", "https://127.1/hook", "https://2130706433/hook", "https://0x7f000001/hook",
    "https://017700000001/hook", "https://127.000.000.001/hook", "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook",
    "https://[0:0:0:0:0:ffff:7f00:1]/hook", "https://localhost/hook", "https://api.localhost/hook",
    "https://10.0.0.1/hook", "https://172.16.0.1/hook", "https://192.168.1.1/hook", "https://100.64.0.1/hook",
    "https://[fd00::1]/hook", "https://169.254.169.254/latest/meta-data/", "https://[::ffff:169.254.169.254]/",
    "https://2852039166/", "https://0xa9fea9fe/", "https://[fe80::1]/hook", "https://metadata.google.internal/",
    "https://metadata/", "https://instance-data/", "https://0.0.0.0/hook", "https://0/hook", "https://[::]/hook",
    "https://224.0.0.1/hook", "https://255.255.255.255/hook", "http://127.0.0.1/hook",
    "https://user@127.0.0.1/hook", "https://127.0.0.1:8443/hook",
]
COUNT_DELTAS = [("-2^63", "-9223372036854775808"), ("a string", '"5"'), ("a fraction", "1.5"),
                ("2^63 (past Int64)", "9223372036854775808"), ("1e30", "1e30")]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allot", default=os.path.join(here, "..", ".build", "debug", "allot"))
    parser.add_argument("--connections", type=int, default=2000, help="slow-body connections (attack a)")
    parser.add_argument("--flood", type=int, default=2000, help="idle connections (attack b)")
    parser.add_argument("--seconds", type=float, default=60, help="how long attacks a and b each last")
    parser.add_argument("--trickle-seconds", type=float, default=5, help="a byte of body per connection this often")
    parser.add_argument("--attacks", default="a,b,c,d")
    parser.add_argument("--other-client", help="a second /healthz probe from this 127/8 address")
    parser.add_argument("--serve-arg", action="append", default=[], help="passed to allot serve (repeat)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    attacks = set(args.attacks.split(","))
    if not attacks <= {"a", "b", "c", "d"}:
        sys.exit("--attacks takes a, b, c, d separated by commas")
    if args.other_client and not ipaddress.ip_address(args.other_client) in ipaddress.ip_network("127.0.0.0/8"):
        sys.exit("--other-client must be a loopback address (127.0.0.0/8)")
    if not os.access(args.allot, os.X_OK):
        sys.exit(f"no allot binary at {args.allot}; build it (swift build) or pass --allot")
    raise_open_files(max(args.connections, args.flood) + 512)

    folder = tempfile.mkdtemp(prefix="allot-attack-")
    server = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        server = Server(args.allot, folder, args.serve_arg)
        figures = {"server": {"pid": server.process.pid, "openFilesLimit": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}}
        figures["quiet"] = observe(server, args.other_client, 5, lambda stop: {} if stop.wait() else {})
        if "a" in attacks:
            head = (f"POST /v1/tenants/x/devices HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                    "Content-Length: 100000000\r\n\r\n{").encode()
            figures["a_slow_bodies"] = observe(server, args.other_client, args.seconds,
                                               lambda stop: hold(server.port, args.connections, head, args.trickle_seconds, stop))
            settle(server)
        if "b" in attacks:
            figures["b_flood"] = observe(server, args.other_client, args.seconds,
                                         lambda stop: hold(server.port, args.flood, None, None, stop))
            settle(server)
        if "c" in attacks:
            figures["c_webhooks"] = webhooks(server)
        if "d" in attacks:
            figures["d_notifications"] = notifications(server)
        report(figures)
        if args.json:
            print(json.dumps(figures, indent=2))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        if server:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def raise_open_files(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            print(f"open files limited to {target} (hard limit); fewer connections will open", file=sys.stderr)


class Server:
    """`allot serve` with the simulator, a tenant with a token, its receiver's bearer."""

    def __init__(self, allot, folder, extra):
        self.folder = folder
        seed = os.path.join(folder, "seed.json")
        with open(seed, "w") as f:
            json.dump(SEED, f)
        self.sim = os.path.join(folder, "sim.json")
        subprocess.run([allot, "sim", "init", "--seed", seed, "--state", self.sim, "--tokens-dir", os.path.join(folder, "tokens")],
                       check=True, stdout=subprocess.DEVNULL)
        self.port = free_port()
        self.admin_key = secrets.token_hex(32)
        env = dict(os.environ, ALLOT_DB=os.path.join(folder, "allot.sqlite"), ALLOT_APPLE="sim:" + self.sim,
                   ALLOT_ADMIN_KEY=self.admin_key)
        self.log = open(os.path.join(folder, "serve.log"), "w")
        self.process = subprocess.Popen([allot, "serve", "--port", str(self.port), "--public-url", f"http://{HOST}:{self.port}",
                                         "--drain-seconds", "2", "--log-level", "warning", *extra],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("allot serve did not start; its log: " + open(self.log.name).read()[-2000:])
            time.sleep(0.2)
        status, answer = self.request("POST", "/v1/tenants", self.admin_key, {"slug": "springfield"})
        assert status == 201, answer
        self.key = answer["apiKey"]
        with open(os.path.join(folder, "tokens", "1001.vpptoken"), "rb") as f:
            status, answer = self.request("POST", "/v1/tenants/springfield/tokens", self.key, f.read())
        assert status == 201, answer

    def healthy(self):
        try:
            return self.request("GET", "/healthz", None, None, timeout=2)[0] == 200
        except OSError:
            return False

    def request(self, method, path, key, body, timeout=30, headers=None):
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            all_headers = dict(headers or {})
            if key:
                all_headers["Authorization"] = "Bearer " + key
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                all_headers["Content-Type"] = "application/json"
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            try:
                return response.status, json.loads(data)
            except ValueError:
                return response.status, data.decode(errors="replace")
        finally:
            connection.close()

    def receiver(self):
        """The token's notification path and bearer, as the simulator (Apple) holds them."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sqlite3.connect(f"file:{self.sim}?mode=ro", uri=True, timeout=5) as db:
                row = db.execute("SELECT notification_url, notification_auth_token FROM locations WHERE uid = '1001'").fetchone()
            if row and row[0] and row[1]:
                return row[0].split(str(self.port), 1)[1], row[1]
            time.sleep(0.5)
        raise SystemExit("the token's notification receiver was not configured within 30 s")

    def sample(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            return rss, len(os.listdir(f"/proc/{self.process.pid}/fd"))
        except (OSError, StopIteration):
            return None, None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def probe(port, source):
    """One `GET /healthz` on a new connection: the latency in ms, or None without a 200."""
    started = time.monotonic()
    try:
        with socket.create_connection((HOST, port), timeout=5, source_address=(source, 0)) as s:
            s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while b"\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return (time.monotonic() - started) * 1000 if answer.startswith(b"HTTP/1.1 200") else None
    except OSError:
        return None


def observe(server, other_client, seconds, attack):
    """Runs `attack(stop)` for `seconds` while probing /healthz and sampling the server once a second."""
    stop = threading.Event()
    probes = {HOST: []}
    if other_client:
        probes[other_client] = []
    samples = []

    def watch():
        while not stop.is_set():
            tick = time.monotonic()
            for source, results in probes.items():
                results.append(probe(server.port, source))
            samples.append(server.sample())
            stop.wait(max(0, 1 - (time.monotonic() - tick)))

    attack_result = {}

    def run():
        attack_result.update(attack(stop) or {})

    watcher, attacker = threading.Thread(target=watch), threading.Thread(target=run)
    watcher.start()
    attacker.start()
    stop.wait(seconds)
    stop.set()
    attacker.join()
    watcher.join()
    figures = {"healthz": {source: summary(results) for source, results in probes.items()}}
    rss = [r for r, _ in samples if r is not None]
    files = [f for _, f in samples if f is not None]
    figures["rssMiB"] = {"max": round(max(rss) / 1024, 1), "last": round(rss[-1] / 1024, 1)} if rss else None
    figures["openFiles"] = {"max": max(files), "last": files[-1]} if files else None
    figures.update(attack_result)
    return figures


def summary(results):
    answered = sorted(r for r in results if r is not None)
    return {"answered": len(answered), "asked": len(results),
            "medianMs": round(statistics.median(answered), 1) if answered else None,
            "maxMs": round(answered[-1], 1) if answered else None}


def hold(port, count, head, trickle_seconds, stop):
    """Opens `count` connections to the server, sends `head` on each (none: idle), then one byte
    every `trickle_seconds`, until `stop`. Counts what the server did with them."""
    selector = selectors.DefaultSelector()
    started = time.monotonic()
    state = {}  # socket -> "connecting" | "open"
    closed_after, statuses, refused_connect = [], {}, 0
    for _ in range(count):
        if stop.is_set():
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        code = s.connect_ex((HOST, port))
        if code not in (0, errno.EINPROGRESS):
            refused_connect += 1
            s.close()
            continue
        state[s] = "connecting"
        selector.register(s, selectors.EVENT_WRITE)

    def close(s, by_server):
        if by_server:
            closed_after.append(time.monotonic() - started)
        selector.unregister(s)
        del state[s]
        s.close()

    next_byte = time.monotonic() + (trickle_seconds or 0)
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.2):
            s = key.fileobj
            if state.get(s) == "connecting":
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    refused_connect += 1
                    close(s, False)
                    continue
                state[s] = "open"
                selector.modify(s, selectors.EVENT_READ)
                if head:
                    try:
                        s.send(head)
                    except OSError:
                        close(s, True)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 "):
                status = data[9:12].decode()
                statuses[status] = statuses.get(status, 0) + 1
            if not data:
                close(s, True)
        if trickle_seconds and time.monotonic() >= next_byte:
            next_byte += trickle_seconds
            for s in [s for s, phase in state.items() if phase == "open"]:
                try:
                    s.send(b" ")
                except OSError:
                    close(s, True)
    still_open = sum(1 for phase in state.values() if phase == "open")
    for s in list(state):
        close(s, False)
    selector.close()
    closed_after.sort()
    return {"connections": {"asked": count, "notConnected": refused_connect, "closedByServer": len(closed_after),
                            "stillOpenAtEnd": still_open, "answers": statuses,
                            "closedMedianSeconds": round(statistics.median(closed_after), 2) if closed_after else None,
                            "closedMaxSeconds": round(closed_after[-1], 2) if closed_after else None}}


def settle(server, seconds=35):
    """Waits until the server's open files are back near where they were (the idle timeout is 30 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, files = server.sample()
        if files is not None and files < 100:
            return
        time.sleep(1)


def webhooks(server):
    refused, accepted, rules = 0, [], {}
    for url in SSRF_URLS:
        status, answer = server.request("POST", "/v1/tenants/springfield/webhooks", server.key, {"url": url})
        if status == 201:
            accepted.append(url)
            hook = answer.get("webhook", {}).get("id")
            server.request("DELETE", f"/v1/tenants/springfield/webhooks/{hook}", server.key, None)
        elif status == 400:
            refused += 1
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            rule = message.split("(rule ", 1)[1].split(")", 1)[0] if "(rule " in message else message[:80]
            rules[rule] = rules.get(rule, 0) + 1
        else:
            accepted.append(f"{url} (answered {status})")
    return {"urls": len(SSRF_URLS), "refused": refused, "accepted": accepted, "rules": rules}


def notifications(server):
    path, bearer = server.receiver()
    answers = {}
    for index, (name, delta) in enumerate(COUNT_DELTAS):
        body = ('{"notificationType": "ASSET_COUNT", "notificationId": "attack-%d", "uId": "1001", "notification": '
                '{"adamId": "361309726", "pricingParam": "STDQ", "countDelta": %s}}' % (index, delta)).encode()
        status, answer = server.request("POST", path, None, body, headers={"Authorization": "Bearer " + bearer,
                                                                          "Content-Type": "application/json"})
        answers[name] = f"{status} {answer.get('code') if isinstance(answer, dict) else ''}".strip()
    _, apps = server.request("GET", "/v1/tenants/springfield/apps", server.key, None)
    total = next((a["total"] for a in apps.get("apps", []) if a.get("adamId") == "361309726"), None)
    return {"answers": answers, "refused400": sum(1 for a in answers.values() if a.startswith("400")),
            "sent": len(COUNT_DELTAS), "poolTotalAfter": total}


def report(figures):
    print(f"allot serve pid {figures['server']['pid']}, open files limit {figures['server']['openFilesLimit']}")
    print("| phase | /healthz answered (median, max ms) | RSS MiB max | open files max | connections |")
    print("|---|---|---|---|---|")
    for name in ("quiet", "a_slow_bodies", "b_flood"):
        phase = figures.get(name)
        if not phase:
            continue
        health = "; ".join(f"{source}: {h['answered']}/{h['asked']} ({h['medianMs']}, {h['maxMs']})" for source, h in phase["healthz"].items())
        c = phase.get("connections")
        held = (f"{c['asked']} asked, {c['notConnected']} not connected, {c['closedByServer']} closed by the server "
                f"(median {c['closedMedianSeconds']} s, max {c['closedMaxSeconds']} s), {c['stillOpenAtEnd']} open at the end, "
                f"answers {c['answers']}") if c else ""
        print(f"| {name} | {health} | {phase['rssMiB'] and phase['rssMiB']['max']} | {phase['openFiles'] and phase['openFiles']['max']} | {held} |")
    if "c_webhooks" in figures:
        w = figures["c_webhooks"]
        print(f"webhook SSRF: {w['refused']}/{w['urls']} refused, rules {w['rules']}, accepted {w['accepted']}")
    if "d_notifications" in figures:
        d = figures["d_notifications"]
        print(f"notifications: {d['refused400']}/{d['sent']} refused with 400 {d['answers']}, pool total after {d['poolTotalAfter']}")


if __name__ == "__main__":
    main()
