"""The sandbox a submission's kernel runs in, and the guard that runs inside that kernel.

Outside (the grader's process)
------------------------------
:class:`Sandbox` builds the command that starts one student kernel::

    bwrap --unshare-{ipc,pid,net,uts,cgroup} --die-with-parent       no network, own PIDs
          --new-session --clearenv --setenv ...                      a known environment
          --ro-bind /usr /etc <python> <venv> <grader package>       system read-only
          --tmpfs /tmp (sized, 1777)                                 private /tmp
          --bind <runtime dir> <same path>                           connection file + IPC sockets
          --bind <working copy> /home/student/<assignment>           the only writable folder
      prlimit --as --nproc --fsize --nofile --cpu --core=0 --        resource limits
        setpriv --reuid=U --regid=U --clear-groups --no-new-privs   (as root) an unprivileged uid
          python -m grader.grading.sandbox -f <conn>       (-> kernel_main, then ipykernel)

Nothing else of the host is mounted: the course folder (``solutions/``, ``gradebook.db``,
``submitted/``, other students' folders) does not exist inside.  The kernel's network
namespace is its own and empty (not even the host's loopback), so it talks to the grader
over ZeroMQ's ``ipc`` transport (Unix sockets in the runtime folder, bound at the same path
inside and out).  Timeouts interrupt it with an ``interrupt_request`` message (a signal would
reach ``bwrap``, not the kernel).

Processes are limited with ``RLIMIT_NPROC``.  The kernel does not count a root-owned
process against it, and ``bwrap`` as root maps root to root in a user namespace; so, as
root, the sandbox creates no user namespace and ``setpriv`` drops the kernel to a uid that
belongs to this sandbox alone (one per job slot and grader process): a fork bomb exhausts
its own budget, not the other kernels' nor the machine's.  Not as root, ``bwrap`` runs
unprivileged with a user namespace and the invoking uid: then the budget is shared by the
batch's kernels (documented limitation).

Memory is ``RLIMIT_AS`` (a memory bomb gets ``MemoryError``), files written are bounded by
``RLIMIT_FSIZE`` and the size of ``/tmp``; CPU time by ``RLIMIT_CPU`` (a backstop: the grader
enforces wall time per cell and per notebook itself).

Inside (the kernel, before any student code)
--------------------------------------------
:func:`kernel_main` reads a one-time configuration file (then deletes it), imports numpy,
``grader.checks`` and the reference modules the hidden tests use, installs the guard, and
starts ipykernel.  The guard:

* an **audit hook** (``sys.addaudithook``: it cannot be removed) records, with the files of
  the Python frames on the stack, every import of ``grader.reference``, every open or
  listing of the reference's files, the course folder, ``solutions/`` or a gradebook,
  network and subprocess use, and the introspection that could defeat the guard
  (``gc.get_referrers``/``get_objects``, ``sys.settrace``, ``ctypes``);
* **wrappers** around the reference modules' functions and methods record calls made by
  student code (the reference reached through ``sys.modules`` or ``importlib``, without an
  import statement) -- unless the running locked cell itself put that function under the
  name the student code looked up (hidden tests swap a student's function for the reference
  one to test the next question on its own);
* **snapshots** of numpy's and the grader's modules, of ``builtins``, of IPython's execution
  machinery (``run_cell``, input and AST transformers, event callbacks, custom exception
  handlers, the kernel's message handlers) and of the helper names the locked cells bound
  (``check_close``, ``np``, ``ref``...), compared (and restored) around every locked cell;
* :func:`_guard_check`, called by the grader between cells through ``user_expressions``,
  returns the findings signed with HMAC-SHA256 under a key only the guard holds (it came
  through the deleted file).  A missing, unsigned or badly signed answer is itself a
  finding: the guard fails closed.

Frames are attributed by file name: ipykernel compiles each cell as
``/tmp/ipykernel_<pid>/<murmur2 of the source>.py``; the grader sends the hashes of the
locked cells (restored by nbgrader from the gradebook), and any other non-library frame
(another cell, ``exec``'d code, a file written by the student) is student code.  The nearest
non-library frame decides who did something: a hidden test's helper that student code calls
is the test's doing; student code that goes through numpy or ``functools`` is the student's.

This is defence in depth, not a proof: student code runs in the same interpreter as the
tests, so a determined attacker who finds the guard's closure (``gc``, ``ctypes`` --
themselves recorded) or forges a code object's file name could still lie.  What it does
guarantee is that the grader's process, the gradebook and the course files are out of
reach, and that the ordinary ways of cheating are recorded and cost the points.
"""
from __future__ import annotations

import os
import sys

# Imported inside every student kernel: only the standard library here, and traitlets below
# (which ipykernel loads anyway).

WORK_MOUNT = "/home/student"
GUARD_EXPRESSION = ("__import__('grader.grading.sandbox', fromlist=['_'])"
                    "._guard_check({phase!r}, {nonce!r}, {since!r}, {arg!r})")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")

# --------------------------------------------------------------------------------------
# Kernel side
# --------------------------------------------------------------------------------------

_WATCHED_EVENTS = frozenset({
    "open", "import", "os.listdir", "os.scandir", "glob.glob", "shutil.copyfile",
    "socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "gc.get_referrers", "gc.get_referents", "gc.get_objects",
    "sys.settrace", "sys.setprofile", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
    "ctypes.addressof", "ctypes.string_at",
})
_INTROSPECTION = frozenset({"gc.get_referrers", "gc.get_referents", "gc.get_objects",
                            "sys.settrace", "sys.setprofile"})
_VOLATILE_BUILTINS = frozenset({"_", "__", "___", "exit", "quit", "get_ipython", "display",
                                "help", "copyright", "credits", "license", "__IPYTHON__",
                                "dreload", "open", "__import__", "__build_class__",
                                "breakpoint", "input", "print", "__debug__"})
_CHECKED_BUILTINS_OVERRIDE = ("__import__", "__build_class__", "print", "open")
_VOLATILE_NS = frozenset({"_", "__", "___", "_i", "_ii", "_iii", "_oh", "_dh", "In", "Out",
                          "exit", "quit", "get_ipython", "_sh"})
_MAX_EVENTS = 400

_guard_check = None  # set by kernel_main; the grader calls it through user_expressions


def _is_tracked(value) -> bool:
    import types
    return isinstance(value, types.ModuleType) or callable(value)


def _install_guard(cfg: dict):
    """Install the audit hook and return the check function (the key stays in its closure)."""
    import base64
    import builtins
    import hashlib
    import hmac
    import json
    import threading
    import types

    key = bytes.fromhex(cfg["key"])
    getframe = sys._getframe
    normpath, join, isabs = os.path.normpath, os.path.join, os.path.isabs
    fsdecode, getcwd = os.fsdecode, os.getcwd
    lib_roots = tuple(sorted({p.rstrip("/") + "/" for p in cfg.get("lib_roots", []) if p}))
    ref_dir = cfg.get("reference_dir", "").rstrip("/") + "/"
    grader_dir = os.path.dirname(ref_dir.rstrip("/")) + "/"
    sensitive = tuple(p.rstrip("/") for p in cfg.get("sensitive", []) if p)
    cell_dir_marker = "/ipykernel_"
    trusted_cells: set[str] = set()
    events: list = []
    dropped = [0]
    state = {"busy": False, "before": None}
    tls = threading.local()

    def cell_hash(filename: str):
        if cell_dir_marker in filename and filename.endswith(".py"):
            return filename.rsplit("/", 1)[-1][:-3]
        return None

    def is_lib(filename: str) -> bool:
        return filename.startswith("<frozen ") or filename.startswith(lib_roots)

    def is_lib_frame(frame) -> bool:
        fn = frame.f_code.co_filename
        if is_lib(fn):
            return True
        if fn.startswith("<") and cell_hash(fn) is None:
            # code a library generated with exec (dataclasses' __init__...): it runs in the
            # globals of a library module
            g = frame.f_globals
            module = sys.modules.get(g.get("__name__", ""))
            file = g.get("__file__")
            return (module is not None and getattr(module, "__dict__", None) is g
                    and isinstance(file, str) and is_lib(file))
        return False

    def nearest_non_lib(frame, limit: int = 64):
        while frame is not None and limit:
            if not is_lib_frame(frame):
                return frame
            frame = frame.f_back
            limit -= 1
        return None

    def student_frames(frame) -> list[str]:
        """[label] when the nearest caller outside the libraries is student code, else [].

        The nearest caller decides: a hidden test may call the reference from a helper of its
        own that student code called (it swapped a student's function for a reference one);
        student code calling the reference, even through numpy or functools, is caught."""
        frame = nearest_non_lib(frame)
        if frame is None:
            return []
        fn = frame.f_code.co_filename
        h = cell_hash(fn)
        if h is not None and h in trusted_cells:
            return []
        return [h if h is not None else fn]

    def swapped_in_by_test(frame, fn) -> bool:
        """Did the running locked cell put ``fn`` under a name this student code looks up?
        (Hidden tests replace a student's function by the reference one, to test the next
        question on its own.)"""
        before = state["before"]
        if before is None or frame is None:
            return False
        g = frame.f_globals
        return any(g.get(name) is fn and before.get(name) is not fn
                   for name in frame.f_code.co_names)

    def innermost(frame, skip_prefix: str = ""):
        """The innermost frame, skipping a wrapper module (threading.settrace, ctypes)."""
        while frame is not None and skip_prefix and skip_prefix in frame.f_code.co_filename:
            frame = frame.f_back
        return frame

    def importing(frame) -> bool:
        while frame is not None:
            if frame.f_code.co_filename.startswith("<frozen importlib"):
                return True
            frame = frame.f_back
        return False

    seen: set = set()

    def record(kind: str, detail: str, frames: list[str]) -> None:
        key = (kind, detail[:300], tuple(frames[:8]))
        if key in seen:
            return
        if len(events) >= _MAX_EVENTS:
            dropped[0] += 1
            return
        seen.add(key)
        events.append({"kind": kind, "detail": key[1], "frames": list(key[2])})

    def abspath_of(path) -> str | None:
        if isinstance(path, int):
            return None
        try:
            p = fsdecode(path)
        except Exception:
            return None
        if not isabs(p):
            try:
                p = join(getcwd(), p)
            except OSError:
                return None
        return normpath(p)

    def is_sensitive(p: str) -> str | None:
        if (p + "/").startswith(ref_dir):
            return "reference"
        if is_lib(p):   # the Python installation and the grader package (which may lie
            return None  # inside the course folder, as in the course's own repository)
        for s in sensitive:
            if p == s or p.startswith(s + "/"):
                return "course"
        parts = p.split("/")
        if "solutions" in parts or parts[-1].startswith("gradebook"):
            return "course"
        return None

    def hook(event: str, args: tuple) -> None:
        if event not in _WATCHED_EVENTS or state["busy"] or getattr(tls, "busy", False):
            return
        tls.busy = True
        try:
            frame = getframe(1)
            if event == "import":
                name = args[0] if args else ""
                if not isinstance(name, str) or not name.startswith("grader."):
                    return
                if name.startswith("grader.reference") or name.startswith("grader.grading"):
                    frames = student_frames(frame)
                    if frames:
                        kind = "reference" if name.startswith("grader.reference") else "guard"
                        record(kind, f"import {name}", frames)
            elif event in ("open", "os.listdir", "os.scandir", "glob.glob", "shutil.copyfile"):
                if not args:
                    return
                p = abspath_of(args[0])
                if p is None:
                    return
                kind = is_sensitive(p)
                if kind:
                    frames = student_frames(frame)
                    if frames:
                        record(kind, f"{event} {p}", frames)
            elif event.startswith("socket."):
                frames = student_frames(frame)
                if frames:
                    record("network", f"{event} {str(args[1:2])[:120]}", frames)
            elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                           "os.spawn"):
                frames = student_frames(frame)
                if frames:
                    record("process", f"{event} {str(args[:2])[:160]}", frames)
            elif event in _INTROSPECTION:
                inner = innermost(frame, skip_prefix="/threading.py")
                if inner is not None and not is_lib_frame(inner):
                    frames = student_frames(inner)
                    if frames:
                        record("introspection", event, frames)
            elif event.startswith("ctypes."):
                inner = innermost(frame, skip_prefix="/ctypes/")
                if (inner is not None and not is_lib_frame(inner)
                        and not importing(frame)):
                    frames = student_frames(inner)
                    if frames:
                        record("introspection", event, frames)
        except Exception:  # the hook must never break the kernel
            pass
        finally:
            tls.busy = False

    # -- reference wrappers -----------------------------------------------------------
    def wrap_function(fn, qualname: str):
        def wrapper(*args, **kwargs):
            if not getattr(tls, "busy", False) and not state["busy"]:
                caller = getframe(1)
                if not caller.f_code.co_filename.startswith(ref_dir):  # not an internal call
                    frames = student_frames(caller)
                    if frames and not swapped_in_by_test(nearest_non_lib(caller), wrapper):
                        record("reference", f"call {qualname}", frames)
            return fn(*args, **kwargs)
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(wrapper, attr, getattr(fn, attr))
            except (AttributeError, TypeError):
                pass
        wrapper._rnns_guarded = True
        return wrapper

    def wrap_module(module) -> None:
        if getattr(module, "_rnns_guarded", False):
            return
        for name, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                setattr(module, name, wrap_function(value, f"{module.__name__}.{name}"))
            elif isinstance(value, type) and value.__module__ == module.__name__:
                for attr, member in list(vars(value).items()):
                    qn = f"{module.__name__}.{name}.{attr}"
                    try:
                        if isinstance(member, types.FunctionType):
                            setattr(value, attr, wrap_function(member, qn))
                        elif isinstance(member, staticmethod):
                            setattr(value, attr, staticmethod(wrap_function(member.__func__, qn)))
                        elif isinstance(member, classmethod):
                            setattr(value, attr, classmethod(wrap_function(member.__func__, qn)))
                    except (AttributeError, TypeError):
                        pass
        module._rnns_guarded = True

    # -- snapshots --------------------------------------------------------------------
    watched_modules: dict[str, types.ModuleType] = {}
    module_snaps: dict[str, dict] = {}

    def snap_dict(d) -> dict:
        return {k: v for k, v in d.items()
                if (not (k.startswith("__") and k.endswith("__")) or k in ("__getattr__", "__dir__"))
                and _is_tracked(v)}

    def watch_module(name: str, module) -> None:
        if name.startswith("grader.reference"):
            wrap_module(module)
        watched_modules[name] = module
        module_snaps[name] = snap_dict(vars(module))

    for name, module in list(sys.modules.items()):
        if module is not None and (name.split(".")[0] in ("numpy", "grader", "math")):
            watch_module(name, module)

    shell_snap: dict = {}

    def shell_objects():
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        return app.kernel, app.shell

    def class_dicts(objs) -> dict:
        out = {}
        for obj in objs:
            for cls in type(obj).__mro__:
                if cls is object or cls.__module__ == "builtins" or cls in out:
                    continue
                out[cls] = {k: v for k, v in vars(cls).items()
                            if not (k.startswith("__") and k.endswith("__")) and k != "_instance"}
        return out

    def machinery(kernel, shell) -> dict:
        m = {
            "events": {k: list(v) for k, v in shell.events.callbacks.items()},
            "input_transformers_cleanup": list(shell.input_transformers_cleanup),
            "input_transformers_post": list(shell.input_transformers_post),
            "ast_transformers": list(shell.ast_transformers),
            "custom_exceptions": tuple(shell.custom_exceptions),
            "shell_handlers": {k: getattr(v, "__func__", v) for k, v in kernel.shell_handlers.items()},
            "control_handlers": {k: getattr(v, "__func__", v)
                                 for k, v in getattr(kernel, "control_handlers", {}).items()},
        }
        itm = shell.input_transformer_manager
        for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
            m["itm." + attr] = list(getattr(itm, attr, []))
        for label, obj in (("shell", shell), ("kernel", kernel), ("compile", shell.compile),
                           ("events_obj", shell.events), ("itm", itm),
                           ("displayhook", shell.displayhook)):
            m["vars." + label] = {k: v for k, v in vars(obj).items()
                                  if isinstance(v, (types.FunctionType, types.MethodType,
                                                    types.BuiltinFunctionType))}
        return m

    def take_baseline() -> None:
        kernel, shell = shell_objects()
        shell_snap["classes"] = class_dicts([kernel, shell, shell.compile, shell.events,
                                             shell.input_transformer_manager, shell.displayhook,
                                             shell.display_pub])
        shell_snap["machinery"] = machinery(kernel, shell)
        shell_snap["builtins"] = {k: v for k, v in vars(builtins).items()
                                  if k not in _VOLATILE_BUILTINS and _is_tracked(v)}
        shell_snap["builtins_fixed"] = {k: vars(builtins)[k] for k in _CHECKED_BUILTINS_OVERRIDE
                                        if k in vars(builtins)}
        shell_snap["meta_path"] = list(sys.meta_path)
        shell_snap["bindings"] = {}

    def same(a, b) -> bool:
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(x is y for x, y in zip(a, b))
        return a is b

    def trusted_value(v) -> bool:
        """Was this callable defined by a library or a locked cell (not by student code)?"""
        if isinstance(v, types.ModuleType):
            return True
        fn = getattr(v, "__func__", v)
        code = getattr(fn, "__code__", None)
        if code is None:
            call = getattr(type(v), "__call__", None)
            code = getattr(call, "__code__", None)
            if code is None:
                return True       # builtins, ufuncs, C types: not student code
        f = code.co_filename
        h = cell_hash(f)
        return is_lib(f) or (h is not None and h in trusted_cells)

    def verify(tamper: list, phase: str) -> None:
        """Compare with the snapshots; restore what changed; describe it in ``tamper``."""
        kernel, shell = shell_objects()
        # modules: numpy, grader, math and the reference modules
        for name, module in list(watched_modules.items()):
            if sys.modules.get(name) is not module:
                tamper.append(f"sys.modules[{name!r}] was replaced")
                sys.modules[name] = module
            current = vars(module)
            for k, v in module_snaps[name].items():
                if current.get(k) is not v:
                    tamper.append(f"{name}.{k} was replaced")
                    setattr(module, k, v)
        for name in [n for n in list(sys.modules) if n.split(".")[0] == "grader"]:
            if name in watched_modules:
                continue
            module = sys.modules.get(name)
            origin = str(getattr(getattr(module, "__spec__", None), "origin", "") or "")
            if (isinstance(module, types.ModuleType) and origin.startswith(grader_dir)
                    and getattr(module, "__file__", None) == origin):
                watch_module(name, module)
            else:
                tamper.append(f"sys.modules[{name!r}] was planted by student code")
                sys.modules.pop(name, None)
        # builtins
        bvars = vars(builtins)
        for k, v in shell_snap["builtins"].items():
            if bvars.get(k) is not v:
                tamper.append(f"builtins.{k} was replaced")
                bvars[k] = v
        for k, v in shell_snap["builtins_fixed"].items():
            if bvars.get(k) is not v:
                tamper.append(f"builtins.{k} was replaced")
                bvars[k] = v
        # tracing hooks
        if sys.gettrace() is not None:
            tamper.append("a trace function was installed (sys.settrace)")
            sys.settrace(None)
        if sys.getprofile() is not None:
            tamper.append("a profile function was installed (sys.setprofile)")
            sys.setprofile(None)
        for attr in ("_trace_hook", "_profile_hook"):
            if getattr(threading, attr, None) is not None:
                tamper.append(f"threading.{attr} was set")
                setattr(threading, attr, None)
        if list(sys.meta_path) != shell_snap["meta_path"] and not same(list(sys.meta_path),
                                                                       shell_snap["meta_path"]):
            tamper.append("sys.meta_path was changed")
            sys.meta_path[:] = shell_snap["meta_path"]
        # IPython / ipykernel classes and machinery
        for cls, snap in shell_snap["classes"].items():
            current = vars(cls)
            for k, v in snap.items():
                if current.get(k) is not v:
                    tamper.append(f"{cls.__name__}.{k} was replaced")
                    try:
                        setattr(cls, k, v)
                    except (AttributeError, TypeError):
                        pass
            for k in set(current) - set(snap):
                if not (k.startswith("__") and k.endswith("__")) and k != "_instance":
                    tamper.append(f"{cls.__name__}.{k} was added")
                    try:
                        delattr(cls, k)
                    except (AttributeError, TypeError):
                        pass
        now = machinery(kernel, shell)
        base = shell_snap["machinery"]
        for k, v in base.items():
            if not same(now.get(k), v):
                tamper.append(f"IPython machinery changed: {k}")
                restore_machinery(kernel, shell, k, v)
        # helper names bound by the locked cells (after a locked cell, first accept what it
        # rebound itself)
        ns = shell.user_ns
        if phase == "post" and state["before"] is not None:
            before, after = state["before"], tracked_ns(ns)
            for k, v in after.items():
                if before.get(k) is not v:
                    if trusted_value(v):
                        shell_snap["bindings"][k] = v
                    elif k in shell_snap["bindings"]:
                        tamper.append(f"the name {k!r} (set by a locked cell) was rebound "
                                      "by student code during the test")
            for k in set(before) - set(after):
                shell_snap["bindings"].pop(k, None)
            state["before"] = None
        for k, v in shell_snap["bindings"].items():
            if ns.get(k) is not v:
                tamper.append(f"the name {k!r} (set by a locked cell) was rebound")
                ns[k] = v

    def restore_machinery(kernel, shell, k, v) -> None:
        try:
            if k == "events":
                shell.events.callbacks.clear()
                shell.events.callbacks.update({e: list(cbs) for e, cbs in v.items()})
            elif k in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
                getattr(shell, k)[:] = v
            elif k == "custom_exceptions":
                shell.custom_exceptions = v
                shell.__dict__.pop("CustomTB", None)
            elif k in ("shell_handlers", "control_handlers"):
                handlers = getattr(kernel, k)
                handlers.clear()
                handlers.update({name: types.MethodType(f, kernel) for name, f in v.items()})
            elif k.startswith("itm."):
                getattr(shell.input_transformer_manager, k[4:])[:] = v
            elif k.startswith("vars."):
                obj = {"shell": shell, "kernel": kernel, "compile": shell.compile,
                       "events_obj": shell.events, "itm": shell.input_transformer_manager,
                       "displayhook": shell.displayhook}[k[5:]]
                d = vars(obj)
                for name in [n for n, x in d.items()
                             if isinstance(x, (types.FunctionType, types.MethodType,
                                               types.BuiltinFunctionType)) and name_not_in(n, v)]:
                    del d[name]
                d.update(v)
        except Exception:
            pass

    def name_not_in(n, v) -> bool:
        return n not in v

    def tracked_ns(ns) -> dict:
        return {k: v for k, v in ns.items() if k not in _VOLATILE_NS and not k.startswith("_i")
                and _is_tracked(v)}

    def check(phase: str, nonce: str, since: int, arg: str) -> str:
        state["busy"] = True
        payload = {"nonce": nonce, "phase": phase, "tamper": [], "events": [], "n_events": 0}
        try:
            if phase == "init":
                trusted_cells.update(h for h in arg.split(",") if h)
                take_baseline()
            else:
                tamper: list = []
                verify(tamper, phase)
                payload["tamper"] = tamper[:50]
                if phase == "pre":
                    state["before"] = tracked_ns(shell_objects()[1].user_ns)
            payload["events"] = events[since:since + 100]
            payload["n_events"] = len(events)
            seen.clear()   # the same thing done again in a later cell is recorded again
            payload["dropped"] = dropped[0]
        except Exception as exc:  # report, never raise into the kernel
            payload["error"] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            state["busy"] = False
        body = base64.b64encode(json.dumps(payload, default=str).encode()).decode()
        mac = hmac.new(key, f"{nonce}|{body}".encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    sys.addaudithook(hook)
    return check


def kernel_main() -> None:
    """Entry point inside the sandbox: guard first, then ipykernel (argv: ``-f <conn> ...``)."""
    global _guard_check
    import json

    path = os.environ.pop("RNNS_GUARD_CONFIG", "")
    cfg: dict = {}
    if path:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        os.unlink(path)
    os.environ.pop("JPY_PARENT_PID", None)
    import numpy  # noqa: F401  - pristine before any student code
    import grader.checks  # noqa: F401
    for name in cfg.get("preload", []):
        try:
            __import__(name)
        except Exception:  # a broken reference module is the hidden test's problem
            pass
    if cfg.get("key"):
        _guard_check = _install_guard(cfg)
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=sys.argv[1:])


# --------------------------------------------------------------------------------------
# Grader side
# --------------------------------------------------------------------------------------

from pathlib import Path  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

from traitlets import Bool, Int, List, Unicode  # noqa: E402
from traitlets.config import LoggingConfigurable  # noqa: E402


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the namespaces; the message says why."""


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if str(p) != "/"]


def python_roots() -> list[str]:
    """Folders the kernel's interpreter and packages live in (bound read-only)."""
    roots = set()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        roots.add(os.path.abspath(p))
        roots.add(os.path.realpath(p))
    import grader

    roots.add(str(Path(grader.__file__).resolve().parent))
    # drop folders nested in others
    ordered = sorted(roots, key=len)
    out: list[str] = []
    for r in ordered:
        if not any(r == o or r.startswith(o + "/") for o in out):
            out.append(r)
    return out


class Sandbox(LoggingConfigurable):
    """Limits and the bwrap command for one kernel; configurable from nbgrader_config.py
    (``c.Sandbox.memory_mb = 1024`` ...)."""

    memory_mb = Int(2048, help="address-space limit of the kernel (RLIMIT_AS), MiB").tag(config=True)
    nproc = Int(64, help="processes and threads the kernel's uid may have (RLIMIT_NPROC)").tag(config=True)
    file_size_mb = Int(64, help="largest file the kernel may write (RLIMIT_FSIZE), MiB").tag(config=True)
    tmp_mb = Int(128, help="size of the kernel's private /tmp, MiB").tag(config=True)
    nofile = Int(256, help="open files (RLIMIT_NOFILE)").tag(config=True)
    cpu_seconds = Int(0, help="CPU seconds per kernel (RLIMIT_CPU); 0: twice the notebook's "
                              "wall-time limit").tag(config=True)
    extra_ro_binds = List(Unicode(), help="more host folders to bind read-only, at the same "
                                          "path (e.g. a data set)").tag(config=True)
    pass_env = List(Unicode(), ["RNNS_DATA_DIR"],
                    help="environment variables passed to the kernel; a value that is an "
                         "existing folder is bound read-only").tag(config=True)
    uid_base = Int(0, help="first uid of the sandbox uids (0: chosen from the grader's pid)").tag(config=True)
    enabled = Bool(True, help="False runs kernels without bwrap (unsafe)").tag(config=True)

    # -- availability -------------------------------------------------------------------
    @staticmethod
    def bwrap_path() -> str | None:
        return shutil.which("bwrap")

    @staticmethod
    def is_root() -> bool:
        return os.geteuid() == 0

    def check_available(self) -> None:
        """Raise :class:`SandboxUnavailable` unless a trivial sandbox actually starts."""
        bwrap = self.bwrap_path()
        if bwrap is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so student code cannot be isolated from "
                "the course folder, the gradebook and the network. Install it "
                "(`apt-get install bubblewrap`) or pass --unsafe-no-sandbox.")
        missing = [t for t in ("prlimit", "setpriv") if shutil.which(t) is None]
        if missing:
            raise SandboxUnavailable(f"{', '.join(missing)} (util-linux) not found; the sandbox "
                                     "needs it to set limits and drop privileges")
        cmd = [bwrap, *self._namespace_args(), "--ro-bind", "/", "/", "--proc", "/proc",
               "--dev", "/dev", "true"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise SandboxUnavailable(f"bwrap cannot create a sandbox here: {proc.stderr.strip()} "
                                     "(user or network namespaces not permitted?)")

    # -- the command --------------------------------------------------------------------
    def _namespace_args(self) -> list[str]:
        args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if not self.is_root():
            args.insert(0, "--unshare-user")
        return args

    def slot_uid(self, slot: int) -> int:
        base = self.uid_base or (1_000_000 + (os.getpid() % 1_000_000) * 64)
        return base + slot

    def readonly_binds(self) -> list[str]:
        binds = python_roots() + [p for p in self.extra_ro_binds if p]
        for var in self.pass_env:
            value = os.environ.get(var)
            if value and os.path.isdir(value):
                binds.append(os.path.realpath(value))
        return binds

    def check_isolated(self, course_root: Path) -> None:
        """Refuse a layout where a read-only bind would expose the course folder."""
        course = os.path.realpath(course_root)
        for b in self.readonly_binds():
            if course == b or course.startswith(b.rstrip("/") + "/"):
                raise SandboxUnavailable(
                    f"the course folder {course} lies inside {b}, which the sandbox must bind "
                    "read-only (the Python installation or the grader package): move the course")

    def wall_limit_cpu(self, notebook_timeout: float) -> int:
        return self.cpu_seconds or max(60, int(2 * notebook_timeout))

    def kernel_argv(self, *, work_dir: Path, mount_name: str, runtime_dir: Path, uid: int,
                    guard_config: Path, notebook_timeout: float) -> list[str]:
        """argv of a kernelspec: ``{connection_file}`` is left for jupyter_client to fill."""
        inner_work = f"{WORK_MOUNT}/{mount_name}"
        env = self.kernel_env(guard_config, home="/tmp")
        python = [sys.executable, "-m", "grader.grading.sandbox", "-f", "{connection_file}"]
        limits = ["prlimit", f"--as={self.memory_mb * 2**20}", f"--nproc={self.nproc}",
                  f"--fsize={self.file_size_mb * 2**20}", f"--nofile={self.nofile}",
                  f"--cpu={self.wall_limit_cpu(notebook_timeout)}", "--core=0", "--"]
        if not self.enabled:
            return limits + python
        cmd = [self.bwrap_path() or "bwrap", *self._namespace_args(),
               "--hostname", "sandbox", "--clearenv"]
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for top in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            p = Path("/") / top
            if p.is_symlink():
                cmd += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                cmd += ["--ro-bind", str(p), str(p)]
        cmd += ["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(self.tmp_mb * 2**20), "--tmpfs", "/tmp"]
        made: set[str] = {"/tmp"}
        binds = self.readonly_binds()
        for b in binds + [str(runtime_dir), WORK_MOUNT]:
            for parent in _ancestors(Path(b)):
                if str(parent) not in made and not str(parent).startswith("/usr"):
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
        for b in binds:
            cmd += ["--ro-bind", b, b]
        cmd += ["--perms", "0755", "--dir", WORK_MOUNT,
                "--bind", str(runtime_dir), str(runtime_dir),
                "--bind", str(work_dir), inner_work, "--chdir", inner_work]
        # inside: limits (lowering them needs no privilege), then the unprivileged uid
        if self.is_root():
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", *limits,
                    "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                    "--inh-caps=-all", "--no-new-privs", "--"]
        else:
            cmd += ["--", *limits]
        return cmd + python

    def kernel_env(self, guard_config: Path, home: str) -> dict[str, str]:
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home, "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": f"{home}/.matplotlib", "IPYTHONDIR": f"{home}/.ipython",
            "JUPYTER_RUNTIME_DIR": f"{home}/.jupyter-runtime", "JUPYTER_PLATFORM_DIRS": "1",
            "NBGRADER_EXECUTION": "autograde", "RNNS_GUARD_CONFIG": str(guard_config),
        }
        env.update({v: "1" for v in THREAD_VARS})
        for var in self.pass_env:
            if var in os.environ:
                env[var] = os.environ[var]
        return env


if __name__ == "__main__":   # the sandbox's kernel command: python -m grader.grading.sandbox -f CONN
    from grader.grading.sandbox import kernel_main as _main  # the importable copy holds the guard

    _main()
