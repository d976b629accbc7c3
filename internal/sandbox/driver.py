# The assistd code_interpreter driver: runs inside the bubblewrap sandbox as
# one long-lived Python process per session. It reads requests as JSON lines
# on fd 3 and answers JSON lines on fd 4; everything the code prints goes to
# fd 1 (stderr is the same writer), followed after each execution by the
# request's marker so the server knows where the output ends. It is passed
# with -c and its configuration as argv[1].
import ast
import base64
import builtins
import io
import json
import linecache
import os
import resource
import signal
import sys
import traceback
import warnings


class CappedWriter(io.TextIOBase):
    """stdout and stderr: writes through a buffer to fd 1, dropping (and
    counting) what exceeds the per-execution cap."""

    def __init__(self, raw, cap):
        self._raw = raw
        self.cap = cap
        self.written = 0
        self.dropped = 0

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "backslashreplace"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return 1

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not " + type(s).__name__)
        n = len(s)
        room = self.cap - self.written
        if room >= n:
            self._raw.write(s)
        else:
            if room > 0:
                self._raw.write(s[:room])
            self.dropped += n - max(room, 0)
        self.written += n
        return n

    def flush(self):
        self._raw.flush()


def set_limits(limits):
    for name, value in limits.items():
        res = getattr(resource, name)
        resource.setrlimit(res, (value, value))


def cpu_used():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def on_xcpu(signum, frame):
    raise TimeoutError("CPU time limit of this execution exceeded")


def kill_strays():
    """Ends every other process of the sandbox (background children of the
    code) except the sandbox's init, and reaps them."""
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        names = []
    for name in names:
        if name.isdigit() and int(name) not in (1, me):
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        except OSError:
            break
        if pid == 0:
            break


def collect_figures(max_figures):
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    images = []
    try:
        for num in plt.get_fignums()[:max_figures]:
            buf = io.BytesIO()
            plt.figure(num).savefig(buf, format="png")
            images.append(base64.b64encode(buf.getvalue()).decode("ascii"))
    except Exception:
        traceback.print_exc()
    finally:
        try:
            plt.close("all")
        except Exception:
            pass
    return images


def run_cell(code, filename, env):
    """Executes code like a notebook cell: a trailing expression's value is
    printed. Exceptions are printed as tracebacks (they are output)."""
    try:
        tree = ast.parse(code, filename, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        exec(compile(tree, filename, "exec"), env)
        if last is not None:
            value = eval(compile(last, filename, "eval"), env)
            if value is not None:
                env["_"] = value
                print(repr(value))
        return False
    except SystemExit as e:
        print("SystemExit: %s" % (e.code,))
        return False
    except BaseException as e:
        tb = e.__traceback__
        if tb is not None and tb.tb_frame.f_code is run_cell.__code__:
            tb = tb.tb_next
        if isinstance(e, SyntaxError):
            tb = None
        traceback.print_exception(type(e), e, tb)
        return True


def main():
    cfg = json.loads(sys.argv[1])
    requests = os.fdopen(3, "rb")
    responses = os.fdopen(4, "wb")
    os.set_inheritable(3, False)
    os.set_inheritable(4, False)

    set_limits(cfg["limits"])
    cpu_seconds = cfg.get("cpu_seconds", 0)
    if cpu_seconds > 0:
        signal.signal(signal.SIGXCPU, on_xcpu)

    raw = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True)
    out = CappedWriter(raw, cfg["max_output"])
    sys.stdout = sys.stderr = out
    sys.stdin = io.StringIO("")
    sys.argv = [""]
    sys.path.insert(0, "/mnt/data")
    warnings.filterwarnings("ignore", message=".*non-GUI backend.*")
    warnings.filterwarnings("ignore", message=".*FigureCanvasAgg is non-interactive.*")

    def reply(msg):
        responses.write(json.dumps(msg).encode() + b"\n")
        responses.flush()

    limits = {}
    for name in cfg["limits"]:
        limits[name] = resource.getrlimit(getattr(resource, name))[1]
    reply({"ready": True, "limits": limits, "python": sys.version.split()[0]})

    env = {"__name__": "__main__", "__builtins__": builtins}
    n = 0
    for line in requests:
        req = json.loads(line)
        n += 1
        out.written = 0
        out.dropped = 0
        if cpu_seconds > 0:
            soft = int(cpu_used()) + cpu_seconds
            resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        failed = run_cell(req["code"], "<cell-%d>" % n, env)
        images = collect_figures(cfg["max_figures"])
        kill_strays()
        try:
            out.flush()
        except Exception:
            pass
        os.write(1, req["marker"].encode())
        reply({"id": req["id"], "error": failed, "images": images, "dropped": out.dropped})


main()
