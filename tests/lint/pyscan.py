"""The external commands and third-party modules a Python file uses: argv[0] of subprocess
calls (and the project's run() wrappers), shutil.which("x"), PostgreSQL server binaries
joined to a bindir, and imports outside the standard library. Stdlib only."""

import ast
import sys

# Calls whose first argument is an argv (or a shell string): subprocess's, os.exec*, and the
# project's own wrappers (benchlib.run, Cluster._run).
RUNNERS = {"run", "_run", "Popen", "call", "check_call", "check_output", "getoutput",
           "getstatusoutput", "execvp", "execv", "execlp", "spawnlp"}


class Scan:
    def __init__(self, source, line_offset=0):
        self.tree = ast.parse(source)
        self.offset = line_offset
        self.parent = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
        self._assigned = {}

    def commands(self):
        """[(name, line)] for every command the file runs that a literal names."""
        found = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = _func_name(node.func)
            if name == "which" and _is_name(getattr(node.func, "value", None), "shutil"):
                found += [(c, node.lineno) for c in self._literal(node.args[0], node, 0)]
            elif name in RUNNERS:
                shell = _shell_call(node)
                found += [(c, node.lineno) for c in self._argv0(node.args[0], node, 0, shell)]
        return [(c, line + self.offset) for c, line in found if c]

    def imports(self):
        """[(top-level module, line)] for absolute imports outside the standard library."""
        found = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top not in sys.stdlib_module_names and top != "__future__":
                    found.append((top, node.lineno + self.offset))
        return found

    def _argv0(self, node, at, depth, shell):
        """Possible first words of an argv expression (literal lists, `a + b`, names), or of
        a command line string when the call runs a shell."""
        if depth > 4:
            return []
        if isinstance(node, (ast.List, ast.Tuple)):
            return self._word(node.elts[0], at, depth) if node.elts else []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._argv0(node.left, at, depth + 1, shell)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value.split()[:1] if shell else []
        if isinstance(node, ast.Name):
            return [c for v in self._values(node.id, at)
                    for c in self._argv0(v, at, depth + 1, shell)]
        return []

    def _word(self, node, at, depth):
        """One argv element: a literal, a name bound to one, or os.path.join(<bindir>, "x")."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Name) and depth <= 4:
            return [c for v in self._values(node.id, at) for c in self._word(v, at, depth + 1)]
        if isinstance(node, ast.Call) and _func_name(node.func) == "join" and node.args:
            last = node.args[-1]
            dirs = " ".join(ast.unparse(a) for a in node.args[:-1])
            if "bindir" in dirs and isinstance(last, ast.Constant) and \
                    isinstance(last.value, str):
                return [last.value]
        return []

    def _literal(self, node, at, depth):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        return self._word(node, at, depth)

    def _values(self, name, at):
        """Values assigned to name in the enclosing function, else anywhere in the module."""
        scope = at
        while scope in self.parent and not isinstance(
                scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope = self.parent[scope]
        for s in (scope, self.tree):
            values = self._assignments(s).get(name)
            if values:
                return values
        return []

    def _assignments(self, scope):
        if scope not in self._assigned:
            found = {}
            for n in ast.walk(scope):
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        if isinstance(t, ast.Name):
                            found.setdefault(t.id, []).append(n.value)
            self._assigned[scope] = found
        return self._assigned[scope]


def _func_name(func):
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _shell_call(call):
    """subprocess.*(..., shell=True) or subprocess.getoutput: a string is a command line (a
    string given to any other run(), e.g. a SQL session's, is not)."""
    if _func_name(call.func) in ("getoutput", "getstatusoutput"):
        return True
    return _is_name(getattr(call.func, "value", None), "subprocess") and any(
        k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords)


def _is_name(node, name):
    return isinstance(node, ast.Name) and node.id == name
