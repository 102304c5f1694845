//! The subscript grammar, numpy's:
//!
//! ```text
//! subscripts = inputs , [ "->" , output ] ;
//! inputs     = term , { "," , term } ;
//! output     = term ;                        (* no "," after "->" *)
//! term       = { label | ellipsis } ;        (* at most one ellipsis *)
//! label      = "a" … "z" | "A" … "Z" ;
//! ellipsis   = "..." ;
//! ```
//!
//! Spaces may stand anywhere except inside `->` and `...`. A term may be
//! empty: it is a 0-d operand (or a scalar output).
//!
//! The parser does not stop at the first mistake: it reports each one and
//! reads on, so one build shows every mistake in a literal, and it still
//! returns its best reading so that later stages can give the expansion a
//! type.

/// A parsed subscript string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscripts {
    /// One term per operand.
    pub inputs: Vec<Term>,
    /// The output term after `->`; `None` in implicit mode.
    pub output: Option<Term>,
}

/// One term: labels and at most one ellipsis, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub items: Vec<Item>,
}

/// A label or the ellipsis, with the character position (counted from 0 in
/// the literal's value) where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Label(char, usize),
    Ellipsis(usize),
}

impl Term {
    /// The labels in axis order, without the ellipsis.
    pub fn labels(&self) -> impl Iterator<Item = (char, usize)> + '_ {
        self.items.iter().filter_map(|item| match *item {
            Item::Label(c, pos) => Some((c, pos)),
            Item::Ellipsis(_) => None,
        })
    }

    /// How many labels come before the ellipsis, if there is one.
    pub fn ellipsis(&self) -> Option<usize> {
        self.items
            .iter()
            .position(|item| matches!(item, Item::Ellipsis(_)))
    }

    /// The term as written, without spaces.
    pub fn text(&self) -> String {
        self.items
            .iter()
            .map(|item| match *item {
                Item::Label(c, _) => c.to_string(),
                Item::Ellipsis(_) => "...".to_owned(),
            })
            .collect()
    }
}

/// A mistake in the literal: a message and the character position it is at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: usize,
    pub message: String,
}

/// Reads an arrow: the current term is the last input and the output starts;
/// at a second arrow, the rest is no longer read into the output.
fn arrow(
    inputs: &mut Vec<Term>,
    current: &mut Term,
    output: &mut Option<Term>,
    discard: &mut bool,
) {
    if output.is_some() {
        *discard = true;
    } else {
        inputs.push(std::mem::replace(current, Term { items: Vec::new() }));
        *output = Some(Term { items: Vec::new() });
    }
}

/// Parses `text`, returning the best reading and every mistake found.
pub fn parse(text: &str) -> (Subscripts, Vec<SyntaxError>) {
    let chars: Vec<char> = text.chars().collect();
    let mut errors = Vec::new();
    let mut err = |pos: usize, message: String| errors.push(SyntaxError { pos, message });

    let mut inputs = Vec::new();
    let mut output: Option<Term> = None;
    let mut current = Term { items: Vec::new() };
    // After a second `->`, what follows is reported but not read, so the
    // mistake does not also change the output.
    let mut discard = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let push = |current: &mut Term, item| {
            if !discard {
                current.items.push(item);
            }
        };
        match c {
            'a'..='z' | 'A'..='Z' => push(&mut current, Item::Label(c, i)),
            ' ' => {}
            ',' if output.is_some() => {
                err(
                    i,
                    format!(
                        "the output after `->` is one term, but a `,` follows it at position {i}"
                    ),
                );
            }
            ',' => inputs.push(std::mem::replace(&mut current, Term { items: Vec::new() })),
            '-' => {
                // `->`, or `-` with spaces before its `>`, or a lone `-`; each
                // is read as `->` so the rest of the literal reads as meant.
                let mut j = i + 1;
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                let next = if j < chars.len() && chars[j] == '>' {
                    if j > i + 1 {
                        err(
                            i,
                            format!("`->` must not contain a space (at position {i})"),
                        );
                    }
                    j + 1
                } else {
                    err(i, format!("`-` at position {i} is not followed by `>`"));
                    i + 1
                };
                if output.is_some() {
                    err(
                        i,
                        format!("`->` appears more than once (again at position {i})"),
                    );
                }
                arrow(&mut inputs, &mut current, &mut output, &mut discard);
                i = next;
                continue;
            }
            '>' => {
                err(i, format!("`>` at position {i} is not preceded by `-`"));
                if output.is_some() {
                    err(
                        i,
                        format!("`->` appears more than once (again at position {i})"),
                    );
                }
                arrow(&mut inputs, &mut current, &mut output, &mut discard);
            }
            '.' => {
                let run = chars[i..].iter().take_while(|&&c| c == '.').count();
                // `. ..` and the like: three dots with spaces among them.
                let mut j = i;
                let mut dots = 0;
                while j < chars.len() && (chars[j] == '.' || chars[j] == ' ') && dots < 3 {
                    if chars[j] == '.' {
                        dots += 1;
                    }
                    j += 1;
                }
                let (len, ok) = if run == 3 {
                    (3, true)
                } else if run < 3 && dots == 3 && (j == chars.len() || chars[j] != '.') {
                    err(
                        i,
                        format!("`...` must not contain a space (at position {i})"),
                    );
                    (j - i, true)
                } else {
                    let dots = ".".repeat(run);
                    err(
                        i,
                        format!(
                            "`{dots}` at position {i} is not an ellipsis: an ellipsis is exactly three dots `...`"
                        ),
                    );
                    (run, false)
                };
                if ok {
                    if current.ellipsis().is_some() {
                        err(i, format!("a term has at most one ellipsis, but a second `...` starts at position {i}"));
                    } else {
                        push(&mut current, Item::Ellipsis(i));
                    }
                }
                i += len;
                continue;
            }
            _ => {
                err(
                    i,
                    format!(
                        "invalid character `{}` at position {i}: subscripts are letters a-z and A-Z, `,`, `->`, `...` and spaces",
                        c.escape_debug()
                    ),
                );
            }
        }
        i += 1;
    }
    match &mut output {
        Some(out) => *out = current,
        None => inputs.push(current),
    }
    (Subscripts { inputs, output }, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Subscripts {
        let (s, errors) = parse(text);
        assert!(errors.is_empty(), "{text:?}: {errors:?}");
        s
    }

    fn texts(s: &Subscripts) -> (Vec<String>, Option<String>) {
        (
            s.inputs.iter().map(Term::text).collect(),
            s.output.as_ref().map(Term::text),
        )
    }

    fn messages(text: &str) -> Vec<String> {
        parse(text).1.into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn terms_and_modes() {
        let t = |i: &[&str], o: Option<&str>| {
            (
                i.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                o.map(str::to_owned),
            )
        };
        assert_eq!(texts(&ok("ij,jk->ik")), t(&["ij", "jk"], Some("ik")));
        assert_eq!(texts(&ok("ij,jk")), t(&["ij", "jk"], None));
        assert_eq!(
            texts(&ok(" i j , j k -> i k ")),
            t(&["ij", "jk"], Some("ik"))
        );
        assert_eq!(texts(&ok(",i->i")), t(&["", "i"], Some("i")));
        assert_eq!(texts(&ok("->")), t(&[""], Some("")));
        assert_eq!(texts(&ok("")), t(&[""], None));
        assert_eq!(
            texts(&ok("a...b,...->...")),
            t(&["a...b", "..."], Some("..."))
        );
        assert_eq!(ok("a...b").inputs[0].ellipsis(), Some(1));
    }

    #[test]
    fn positions_are_characters() {
        let s = ok("ab->b");
        assert_eq!(s.output.unwrap().items, vec![Item::Label('b', 4)]);
    }

    #[test]
    fn every_mistake_is_reported() {
        assert_eq!(
            messages("i+j,j2"),
            [
                "invalid character `+` at position 1: subscripts are letters a-z and A-Z, `,`, `->`, `...` and spaces",
                "invalid character `2` at position 5: subscripts are letters a-z and A-Z, `,`, `->`, `...` and spaces",
            ]
        );
        assert_eq!(
            messages("i->i->i"),
            ["`->` appears more than once (again at position 4)"]
        );
        assert_eq!(
            messages("i-i"),
            ["`-` at position 1 is not followed by `>`"]
        );
        assert_eq!(
            messages("i>i"),
            ["`>` at position 1 is not preceded by `-`"]
        );
        assert_eq!(
            messages("i,j->i,j"),
            ["the output after `->` is one term, but a `,` follows it at position 6"]
        );
        assert_eq!(
            messages("i- >i"),
            ["`->` must not contain a space (at position 1)"]
        );
        assert_eq!(
            messages(". ..i"),
            ["`...` must not contain a space (at position 0)"]
        );
        assert_eq!(
            messages("..i"),
            ["`..` at position 0 is not an ellipsis: an ellipsis is exactly three dots `...`"]
        );
        assert_eq!(
            messages("....i"),
            ["`....` at position 0 is not an ellipsis: an ellipsis is exactly three dots `...`"]
        );
        assert_eq!(
            messages("...i...->i"),
            ["a term has at most one ellipsis, but a second `...` starts at position 4"]
        );
        assert_eq!(messages("é"), ["invalid character `é` at position 0: subscripts are letters a-z and A-Z, `,`, `->`, `...` and spaces"]);
    }

    #[test]
    fn best_reading_survives_mistakes() {
        let (s, errors) = parse("ij+,jk->ik");
        assert_eq!(errors.len(), 1);
        assert_eq!(texts(&s).0, ["ij", "jk"]);
        // A lone `-` or `>` reads as `->`; a second arrow's output is not read.
        for text in ["ij-ji", "ij>ji", "ij->ji->ij", "ij->ji>"] {
            let (s, errors) = parse(text);
            assert!(!errors.is_empty());
            assert_eq!(
                texts(&s),
                (vec!["ij".to_owned()], Some("ji".to_owned())),
                "{text}"
            );
        }
        // An invalid character is left out of the reading.
        let (s, _) = parse("ij->ji+");
        assert_eq!(texts(&s), (vec!["ij".to_owned()], Some("ji".to_owned())));
    }
}
