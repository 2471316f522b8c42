# Drives a python3-opendht DhtRunner for lib/dht interop tests: one JSON
# command per stdin line, one JSON result per stdout line.
# Usage: opendht_driver.py PORT [BOOTSTRAP_HOST:PORT]
import sys, json, base64, threading
import opendht as dht

port = int(sys.argv[1])
boot = sys.argv[2] if len(sys.argv) > 2 else ""
r = dht.DhtRunner()
r.run(ipv4="127.0.0.1", port=port, config=dht.DhtConfig())
lock = threading.Lock()
def emit(o):
    with lock:
        sys.stdout.write(json.dumps(o) + "\n")
        sys.stdout.flush()
def vj(v):
    return {"id": v.id, "data": base64.b64encode(bytes(v.data)).decode(), "utype": v.user_type}
if boot:
    h, p = boot.rsplit(":", 1)
    r.bootstrap(h, p)
emit({"op": "ready", "id": r.getNodeId().decode(), "bound": str(r.getBound())})
for line in sys.stdin:
    c = json.loads(line)
    op = c["op"]
    if op == "put":
        v = dht.Value(base64.b64decode(c["data"]))
        ok = r.put(dht.InfoHash(c["key"].encode()), v)
        emit({"op": "put", "ok": ok, "id": v.id})
    elif op == "get":
        vals = r.get(dht.InfoHash(c["key"].encode()))
        emit({"op": "get", "values": [vj(v) for v in vals]})
    elif op == "listen":
        def cb(v, expired):
            e = vj(v); e["op"] = "event"; e["expired"] = expired
            emit(e)
            return True
        r.listen(dht.InfoHash(c["key"].encode()), cb)
        emit({"op": "listen"})
    elif op == "quit":
        break
r.shutdown()
r.join()
