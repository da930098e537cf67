"""The external commands a bash/sh script runs: command words of every simple command, inside
$(...), backticks and meson's --wrap='...', with builtins, functions, assignments, case
patterns and heredoc bodies left out. A small lexer, not a shell: what it cannot know
(`"$cmd" args`) it skips. Stdlib only."""

import re

BUILTINS = set("""
. : [ [[ ]] ] alias bg bind break builtin caller cd command compgen complete compopt continue
declare dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs
kill let local logout mapfile popd printf pushd pwd read readarray readonly return set shift
shopt source suspend test times trap true type typeset ulimit umask unalias unset wait
""".split())
RESERVED = set("if then else elif fi case esac for select while until do done in function "
               "time { } !".split())
# Words that run the next word as the command; their own options (and a duration) skipped.
WRAPPERS = {"exec", "nohup", "env", "sudo", "nice", "timeout", "xargs", "time"}
OPERATORS = ("&&", "||", ";;", ";", "|", "&", "(", ")", "\n")
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
HEREDOC = re.compile(r"(?<![<])<<-?[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


class Word:
    def __init__(self, text, line, dynamic):
        self.text, self.line, self.dynamic = text, line, dynamic  # dynamic: has a $ expansion


class Lexer:
    """Splits a script into Words and operator strings; command substitutions are collected
    as (text, first line) for a separate scan."""

    def __init__(self, text, line=1):
        self.s, self.i, self.line = text, 0, line
        self.tokens, self.substitutions = [], []

    def peek(self, n=0):
        j = self.i + n
        return self.s[j] if j < len(self.s) else ""

    def run(self):
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\" and self.peek(1) == "\n":
                self.i += 2
                self.line += 1
            elif c in " \t":
                self.i += 1
            elif c == "#":
                while self.i < len(self.s) and self.peek() != "\n":
                    self.i += 1
            elif c == "(" and self.peek(1) == "(":
                self.skip_balanced("(", ")")  # (( arithmetic ))
            elif self.redirection():
                pass
            elif any(self.s.startswith(op, self.i) for op in OPERATORS):
                op = next(op for op in OPERATORS if self.s.startswith(op, self.i))
                self.tokens.append((op, self.line))
                self.line += op == "\n"
                self.i += len(op)
            else:
                self.word()
        return self

    def redirection(self):
        """`2>&1`, `>&2`, `>>f`, `<f`, `&>f`: dropped with their target word. `<(...)` is a
        process substitution, scanned like $(...)."""
        m = re.compile(r"\d*(>>|>&|<&|&>|>|<)(\d+|-)?").match(self.s, self.i)
        if not m or m.end() == self.i:
            return False
        if self.s.startswith("<(", self.i) or self.s.startswith(">(", self.i):
            self.i += 1
            self.substitution()
            return True
        self.i = m.end()
        if not m.group(2):
            while self.peek() in " \t":
                self.i += 1
            if self.peek() and self.peek() not in "\n;&|()":
                saved = len(self.tokens)
                self.word()
                del self.tokens[saved:]
        return True

    def word(self):
        start_line, out, dynamic, var, parts = self.line, [], False, None, 0
        while self.i < len(self.s):
            c = self.peek()
            if c == "(" and re.match(r"^[A-Za-z_]\w*\+?=$", "".join(out)):
                self.skip_balanced("(", ")", scan=True)  # NAME=( array elements )
                dynamic = True
                continue
            if c in " \t\n;&|()<>":
                break
            parts += 1
            if c == "\\":
                out.append(self.peek(1))
                self.i += 2
            elif c == "'":
                end = self.s.find("'", self.i + 1)
                end = len(self.s) if end < 0 else end
                out.append(self.s[self.i + 1:end])
                self.line += self.s.count("\n", self.i, end)
                self.i = end + 1
            elif c == '"':
                self.i += 1
                while self.i < len(self.s) and self.peek() != '"':
                    if self.peek() == "\\":
                        out.append(self.peek(1))
                        self.i += 2
                    elif self.peek() in "$`":
                        parts += 1
                        var = self.expansion()
                        dynamic |= var is not None
                    else:
                        self.line += self.peek() == "\n"
                        out.append(self.peek())
                        self.i += 1
                self.i += 1
            elif c in "$`":
                var = self.expansion()
                dynamic |= var is not None
            else:
                out.append(c)
                self.i += 1
        text = "".join(out)
        if text == "[[":  # a test: its operators are not the shell's
            end = self.s.find("]]", self.i)
            self.i = len(self.s) if end < 0 else end + 2
        w = Word(text, start_line, dynamic)
        # "$CC" or ${sudo[@]}: the word is exactly one variable (the quotes count as a part).
        w.var = var if dynamic and not text and parts <= 2 else None
        self.tokens.append(w)

    def expansion(self):
        """At $ or a backtick: consumes the expansion. Returns None when it expands to nothing
        ($ alone), the variable's name for $NAME / ${NAME...}, else "" (a substitution)."""
        if self.peek() == "`":
            end = self.s.find("`", self.i + 1)
            end = len(self.s) if end < 0 else end
            self.substitutions.append((self.s[self.i + 1:end], self.line))
            self.i = end + 1
            return ""
        if self.s.startswith("$((", self.i):
            self.i += 1
            self.skip_balanced("(", ")")
            return ""
        if self.s.startswith("$(", self.i):
            self.i += 1
            self.substitution()
            return ""
        if self.s.startswith("${", self.i):
            start = self.i + 2
            self.i += 1
            self.skip_balanced("{", "}", scan=True)
            m = re.match(r"[A-Za-z_]\w*", self.s[start:self.i])
            return m.group(0) if m else ""
        m = re.compile(r"\$([A-Za-z_]\w*|[0-9@*#?$!-])").match(self.s, self.i)
        if m:
            self.i = m.end()
            return m.group(1)
        self.i += 1
        return None

    def substitution(self):
        start, line = self.i + 1, self.line
        self.skip_balanced("(", ")")
        self.substitutions.append((self.s[start:self.i - 1], line))

    def skip_balanced(self, open_, close, scan=False):
        """From an opening bracket past its match, minding quotes; with scan, command
        substitutions inside are still collected."""
        depth = 0
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\":
                self.i += 2
                continue
            if c in "'\"" and close != "}":
                end = self.s.find(c, self.i + 1)
                while c == '"' and end > 0 and self.s[end - 1] == "\\":
                    end = self.s.find(c, end + 1)
                self.line += self.s.count("\n", self.i, max(end, self.i))
                self.i = len(self.s) if end < 0 else end + 1
                continue
            if scan and c == "$" and self.peek(1) == "(" and self.peek(2) != "(":
                self.i += 1
                self.substitution()
                continue
            self.line += c == "\n"
            depth += (c == open_) - (c == close)
            self.i += 1
            if depth == 0:
                return


def strip_heredocs(text):
    """Heredoc bodies blanked (line numbers kept); returns (text, [(command line, body,
    first body line)]) so a `python3 - <<'PY'` body can be scanned as Python."""
    lines, out, bodies, i = text.split("\n"), [], [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        m = HEREDOC.search(line) if "<<" in line and not line.lstrip().startswith("#") else None
        i += 1
        if not m:
            continue
        body, first = [], i + 1
        while i < len(lines) and lines[i].strip() != m.group(2):
            body.append(lines[i])
            out.append("")
            i += 1
        if i < len(lines):
            out.append("")
            i += 1
        bodies.append((line, "\n".join(body), first))
    return "\n".join(out), bodies


class Script:
    """Commands of one script: functions(), defaults() and commands() -> [(name, line)]."""

    def __init__(self, text):
        self.text, self.heredocs = strip_heredocs(text)

    def functions(self):
        return set(re.findall(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", self.text, re.M)) \
            | set(re.findall(r"^\s*function\s+([A-Za-z_][\w-]*)", self.text, re.M))

    def defaults(self):
        """NAME="${OTHER:-word}" or NAME=word: what "$NAME" runs when nothing overrides it."""
        found = {}
        for m in re.finditer(r"^\s*([A-Za-z_]\w*)=\"?(?:\$\{[A-Za-z_]\w*:-([\w.+-]+)\}|"
                             r"([A-Za-z][\w.+-]*))\"?\s*$", self.text, re.M):
            found[m.group(1)] = m.group(2) or m.group(3)
        return found

    def commands(self):
        return scan(self.text, 1, self.defaults())


def scan(text, line, defaults):
    lexer = Lexer(text, line).run()
    found = []
    for sub_text, sub_line in lexer.substitutions:
        found += scan(sub_text, sub_line, defaults)
    segment, expect_pattern = [], False
    for tok in lexer.tokens + ["\n"]:
        op = tok[0] if isinstance(tok, tuple) else (tok if isinstance(tok, str) else None)
        if op is None:
            segment.append(tok)
            continue
        if expect_pattern and op == ")":
            segment, expect_pattern = [], False  # a case pattern, not a command
            continue
        if expect_pattern and op == "|" and segment:
            continue  # a|b) alternatives of one pattern
        if op == ";;":
            expect_pattern = True
        words = [w for w in segment if isinstance(w, Word)]
        segment = []
        if words and op == "(" and len(words) == 1:
            continue  # NAME() { ...: a function definition
        if words and words[0].text == "case" and not words[0].dynamic:
            expect_pattern = True
            continue
        if words and words[0].text == "esac":
            expect_pattern = False
        found += command_of(words, defaults)
        for w in words:
            m = re.match(r"--wrap=(.*)", w.text)
            if m and m.group(1).strip():
                found += [(m.group(1).split()[0], w.line)]
    return found


def command_of(words, defaults):
    """The command a simple command runs, as [(name, line)] (empty when builtin or unknown)."""
    i = 0
    while i < len(words):
        w = words[i]
        if w.text in RESERVED and not w.dynamic:
            if w.text in ("for", "select", "case", "function"):
                return []
            i += 1
        elif ASSIGN.match(w.text) or w.var == "sudo":  # "${sudo[@]}" is empty or sudo
            i += 1
        elif w.text in WRAPPERS and not w.dynamic:
            i += 1
            while i < len(words) and (words[i].text.startswith("-") or ASSIGN.match(
                    words[i].text) or re.match(r"^[\d.]+[smhd]?$", words[i].text)):
                i += 1
        elif w.text == "command" and not w.dynamic:
            if i + 1 < len(words) and words[i + 1].text in ("-v", "-V"):
                return []  # a presence check runs nothing
            i += 1
        else:
            break
    if i >= len(words):
        return []
    w = words[i]
    name = defaults.get(w.var) if w.dynamic else w.text
    if not name or name in BUILTINS or "/" in name or "=" in name:
        return []
    return [(name, w.line)]
