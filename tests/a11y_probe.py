# What a screen reader hears: reads the peercoach window's accessibility tree over AT-SPI
# (pyatspi, from outside the process), finds the requests named in argv, presses "Ask
# for help" through the action interface and finds the dialog's labelled fields. Prints
# one JSON report; on a miss, what it did find, and exits 1. Run by tests/desktop.rs.
import json, sys, time
import pyatspi

def app():
    desktop = pyatspi.Registry.getDesktop(0)
    for i in range(desktop.childCount):
        a = desktop.getChildAtIndex(i)
        if a is not None and a.name == "peercoach":
            return a
    return None

def walk(acc, depth=0):
    if acc is None or depth > 80:
        return
    yield acc
    for i in range(acc.childCount):
        yield from walk(acc.getChildAtIndex(i), depth + 1)

def tree():
    a = app()
    return [] if a is None else [(x.getRoleName(), x.name or "", x) for x in walk(a)]

def wait_for(what, found, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        nodes = tree()
        hit = found(nodes)
        if hit:
            return hit
        time.sleep(0.3)
    print(json.dumps({"missing": what, "tree": [(r, n) for r, n, _ in tree()]}))
    sys.exit(1)

def named(role, name):
    return lambda nodes: next((x for r, n, x in nodes if r == role and n == name), None)

report = {}
for title in sys.argv[1:]:
    # A request's title is a button that opens it, selected while it is open.
    wait_for("request " + title, lambda nodes: next((x for r, n, x in nodes if n == title and r in ("push button", "toggle button")), None))
    report.setdefault("requests", []).append(title)
button = wait_for("Ask for help", named("push button", "Ask for help"))
action = button.queryAction()
names = [action.getName(i) for i in range(action.nActions)]
report["actions"] = names
action.doAction(names.index("click") if "click" in names else 0)
for field in ["Title", "What I tried", "Skills"]:
    hit = wait_for("field " + field, lambda nodes: next((x for r, n, x in nodes if n == field and r in ("text", "entry", "editbar")), None))
    report.setdefault("fields", []).append([hit.getRoleName(), field])
report["window"] = [r for r, n, _ in tree() if n == "I could use help"]
print(json.dumps(report))
