//! Text to [`Part`]s: literal text and `${...}` expressions.

use super::syntax::{Expr, Op, Part, Step};
use crate::value::Value;

/// Parses a string's literal parts and expressions. `$${` is a literal `${`.
/// An error carries the byte offset where it was found.
pub fn parse(s: &str) -> Result<Vec<Part>, (usize, String)> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut pos = 0;
    while let Some(i) = s[pos..].find("${").map(|i| i + pos) {
        if s[..i].ends_with('$') {
            lit.push_str(&s[pos..i - 1]);
            lit.push_str("${");
            pos = i + 2;
            continue;
        }
        lit.push_str(&s[pos..i]);
        let mut p = Parser { s, pos: i + 2 };
        let e = p.expr()?;
        p.ws();
        if !p.eat("}") {
            return Err(match p.peek() {
                None => (i, "unterminated `${`: expected a closing `}`".into()),
                Some(c) => (p.pos, format!("unexpected `{c}` in expression")),
            });
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(&mut lit)));
        }
        parts.push(Part::Expr(e, i));
        pos = p.pos;
    }
    lit.push_str(&s[pos..]);
    if !lit.is_empty() || parts.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

/// Parses one bare expression (no `${}`), e.g. a `count` written as text.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

type PResult<T> = Result<T, (usize, String)>;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.s[self.pos..].starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn err<T>(&self, m: impl Into<String>) -> PResult<T> {
        Err((self.pos, m.into()))
    }

    fn expr(&mut self) -> PResult<Expr> {
        let c = self.binary(0)?;
        if self.eat("?") {
            let a = self.expr()?;
            if !self.eat(":") {
                return self.err("expected `:` in `condition ? a : b`");
            }
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    /// Precedence climbing: `||` < `&&` < comparisons < `+ -` < `* / %`.
    fn binary(&mut self, level: usize) -> PResult<Expr> {
        const LEVELS: &[&[(&str, Op)]] = &[
            &[("||", Op::Or)],
            &[("&&", Op::And)],
            &[
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
            ],
            &[("+", Op::Add), ("-", Op::Sub)],
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        'more: loop {
            for (tok, op) in *ops {
                if self.eat(tok) {
                    let right = self.binary(level + 1)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'more;
                }
            }
            return Ok(left);
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.ws();
        if self.s[self.pos..].starts_with('!') && !self.s[self.pos..].starts_with("!=") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.eat("[") {
                let i = self.expr()?;
                if !self.eat("]") {
                    return self.err("expected `]`");
                }
                e = Expr::Index(Box::new(e), Box::new(i));
            } else if self.s[self.pos..].starts_with('.') && !matches!(e, Expr::Path(_)) {
                self.pos += 1;
                let n = self
                    .ident()
                    .ok_or((self.pos, "expected a name after `.`".into()))?;
                e = Expr::Index(Box::new(e), Box::new(Expr::Lit(Value::Str(n))));
            } else {
                return Ok(e);
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        let rest = &self.s[self.pos..];
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if n == 0 || rest.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return None;
        }
        self.pos += n;
        Some(rest[..n].to_owned())
    }

    fn primary(&mut self) -> PResult<Expr> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            None => self.err("expected an expression"),
            Some('"') => self.string().map(|s| Expr::Lit(Value::Str(s))),
            Some('(') => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat(")") {
                    return self.err("expected `)`");
                }
                Ok(e)
            }
            Some('[') => {
                self.pos += 1;
                let items = self.list_of("]", Parser::expr)?;
                Ok(Expr::List(items))
            }
            Some('{') => {
                self.pos += 1;
                let items = self.list_of("}", |p| {
                    p.ws();
                    let k = if p.peek() == Some('"') {
                        p.string()?
                    } else {
                        p.ident().ok_or((p.pos, "expected a key".to_owned()))?
                    };
                    if !p.eat("=") && !p.eat(":") {
                        return p.err("expected `=` after a map key");
                    }
                    Ok((k, p.expr()?))
                })?;
                Ok(Expr::Map(items))
            }
            Some(c) if c.is_ascii_digit() => {
                let rest = &self.s[self.pos..];
                let n = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                self.pos += n;
                let text = &rest[..n];
                text.parse::<i64>()
                    .map(Value::Int)
                    .or_else(|_| text.parse::<f64>().map(Value::Float))
                    .map(Expr::Lit)
                    .map_err(|_| (start, format!("invalid number `{text}`")))
            }
            Some(_) => {
                let Some(name) = self.ident() else {
                    return self.err(format!(
                        "unexpected `{}` in expression",
                        self.peek().unwrap_or(' ')
                    ));
                };
                match name.as_str() {
                    "true" => return Ok(Expr::Lit(Value::Bool(true))),
                    "false" => return Ok(Expr::Lit(Value::Bool(false))),
                    "null" => return Ok(Expr::Lit(Value::Null)),
                    _ => {}
                }
                if self.eat("(") {
                    let args = self.list_of(")", Parser::expr)?;
                    return Ok(Expr::Call(name, args));
                }
                self.path(name)
            }
        }
    }

    /// The rest of a name path after its first name: `.name`, `[index]`
    /// and `[*]` steps written without spaces.
    fn path(&mut self, first: String) -> PResult<Expr> {
        let mut steps = vec![Step::Name(first)];
        loop {
            if self.s[self.pos..].starts_with('.') {
                self.pos += 1;
                let n = self
                    .ident()
                    .ok_or((self.pos, "expected a name after `.`".to_owned()))?;
                steps.push(Step::Name(n));
            } else if self.s[self.pos..].starts_with('[') {
                self.pos += 1;
                if self.eat("*") {
                    steps.push(Step::Splat);
                } else {
                    steps.push(Step::Index(self.expr()?));
                }
                if !self.eat("]") {
                    return self.err("expected `]`");
                }
            } else {
                return Ok(Expr::Path(steps));
            }
        }
    }

    /// Items separated by commas up to `close` (a trailing comma is fine).
    fn list_of<T>(
        &mut self,
        close: &str,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(out);
            }
            out.push(item(self)?);
            if !self.eat(",") {
                if self.eat(close) {
                    return Ok(out);
                }
                return self.err(format!("expected `,` or `{close}`"));
            }
        }
    }

    /// A double-quoted string with JSON escapes.
    fn string(&mut self) -> PResult<String> {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        let mut i = self.pos + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return serde_json::from_str(&self.s[start..=i])
                        .map_err(|e| (start, format!("invalid string literal: {e}")));
                }
                _ => i += 1,
            }
        }
        Err((start, "unterminated string literal".into()))
    }
}
