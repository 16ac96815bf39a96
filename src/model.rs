//! Model specs: a TOML list of named tensors and glob rules, resolved to [`TensorPlan`]s.
//!
//! # The spec format
//!
//! ```toml
//! # Defaults for every tensor (all optional).
//! seed = 0                    # the Philox key (Overrides::seed replaces it)
//! dtype = "f32"               # f32, f64, f16, bf16 (Overrides::dtype replaces every one)
//! layout = "torch"            # keras (…, in, out) or torch (out, in, …); default keras
//! init = "normal(std=0.02)"   # initializer for tensors that nothing else gives one
//!
//! # Name rules: glob -> initializer, or a table with a priority (default 0).
//! [rules]
//! "*.bias" = "zeros"
//! "*norm*.weight" = { init = "ones", priority = 1 }
//!
//! # Tensors, in file order.
//! [[tensor]]
//! name = "wte.weight"
//! shape = [50257, 768]
//! init = "normal(std=0.02)"  # optional, as are dtype and layout
//!
//! # A block of tensors repeated `count` times; `{i}` in a name becomes 0, 1, …, count-1.
//! [[repeat]]
//! count = 12
//! [[repeat.tensor]]
//! name = "h.{i}.ln_1.weight"
//! shape = [768]
//! ```
//!
//! [`ModelSpec::plan`] lists the tensors in this order: every `[[tensor]]` entry in file
//! order, then each `[[repeat]]` block in file order, expanded index by index (all of the
//! block's tensors for `i = 0`, then all for `i = 1`, ...). TOML gathers each array of tables
//! into one list, so a `[[tensor]]` written after a `[[repeat]]` block still comes before it.
//! A `.safetensors` file then groups them by element size (see [`crate::io::write_tensors`]).
//!
//! # Which initializer a tensor gets
//!
//! 1. Its own `init`, if it has one. Rules are then not consulted for it.
//! 2. Otherwise the rules whose glob matches its whole name: the one of highest `priority`
//!    wins. Rules that tie at the highest priority must give the same initializer; if they
//!    differ, the spec is refused, naming both rules.
//! 3. Otherwise the spec's top-level `init`; with none, the spec is refused.
//!
//! Every rule must match at least one tensor name, so that a mistyped glob is an error and
//! not a silent no-op. Globs use `globset` syntax: `*` and `?` match any characters,
//! dots included; `{a,b}` and `[abc]` work as in shells.
//!
//! # Streams
//!
//! A tensor's Philox stream is [`crate::stream_for_name`] of its name (FNV-1a 64), so adding,
//! removing or reordering tensors never changes the values of the others.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use toml::Spanned;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::fans::Layout;
use crate::init::Initializer;
use crate::io::{TensorHeader, TensorPlan};

/// The largest `count` of a `[[repeat]]` block: far above any real model's layer count, and
/// low enough that a typo cannot make the spec expand without bound.
const MAX_REPEAT: u64 = 100_000;

/// A parsed, checked model spec.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    origin: String,
    seed: u64,
    dtype: DType,
    layout: Layout,
    init: Option<(Initializer, usize)>,
    rules: Vec<Rule>,
    tensors: Vec<SpecTensor>,
}

/// A name rule: a glob, the initializer it gives, and its priority.
#[derive(Clone, Debug)]
struct Rule {
    pattern: String,
    matcher: GlobMatcher,
    init: Initializer,
    priority: i64,
    line: usize,
}

/// A tensor as the spec lists it.
#[derive(Clone, Debug)]
struct SpecTensor {
    name: String,
    shape: Vec<u64>,
    init: Option<Initializer>,
    dtype: Option<DType>,
    layout: Option<Layout>,
    line: usize,
}

/// Command-line values that override the spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces the spec's `seed`.
    pub seed: Option<u64>,
    /// Replaces every tensor's dtype: the spec's default, per-tensor dtypes, and those of a
    /// `--like` checkpoint.
    pub dtype: Option<DType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    seed: Option<Spanned<u64>>,
    dtype: Option<Spanned<String>>,
    layout: Option<Spanned<String>>,
    init: Option<Spanned<String>>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<RawRule>>,
    #[serde(default)]
    tensor: Vec<Spanned<RawTensor>>,
    #[serde(default)]
    repeat: Vec<Spanned<RawRepeat>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRule {
    Init(String),
    Table {
        init: String,
        #[serde(default)]
        priority: i64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTensor {
    name: String,
    shape: Vec<u64>,
    init: Option<Spanned<String>>,
    dtype: Option<Spanned<String>>,
    layout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepeat {
    count: u64,
    tensor: Vec<Spanned<RawTensor>>,
}

/// Maps byte offsets of the spec text to 1-based line numbers.
struct Lines<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Lines<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error(&self, offset: usize, reason: impl Into<String>) -> Error {
        Error::Spec {
            origin: self.origin.to_string(),
            line: Some(self.line(offset)),
            reason: reason.into(),
        }
    }

    /// Parses a spanned word with `FromStr`, naming the line on failure.
    fn parse<T: std::str::FromStr<Err = Error>>(&self, value: &Spanned<String>) -> Result<T> {
        value
            .get_ref()
            .parse()
            .map_err(|e: Error| self.error(value.span().start, e.to_string()))
    }

    fn parse_opt<T: std::str::FromStr<Err = Error>>(
        &self,
        value: &Option<Spanned<String>>,
    ) -> Result<Option<T>> {
        value.as_ref().map(|s| self.parse(s)).transpose()
    }
}

impl ModelSpec {
    /// Reads and parses the spec file at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; otherwise as [`ModelSpec::parse`].
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            reason: format!("cannot read the model spec: {e}"),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses spec text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`Error::Spec`] with the line number for malformed TOML, an unknown key, a bad dtype,
    /// layout, initializer, glob or shape, a repeat without `{i}` in a name, or a tensor
    /// name given twice.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let lines = Lines { text, origin };
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            lines.error(offset, e.message().trim().replace('\n', "; "))
        })?;

        let dtype: Option<DType> = lines.parse_opt(&raw.dtype)?;
        let layout: Option<Layout> = lines.parse_opt(&raw.layout)?;
        let init = match &raw.init {
            Some(s) => Some((lines.parse(s)?, lines.line(s.span().start))),
            None => None,
        };

        let mut rules = Vec::with_capacity(raw.rules.len());
        for (pattern, rule) in &raw.rules {
            let at = pattern.span().start;
            let (init, priority) = match rule.get_ref() {
                RawRule::Init(init) => (init, 0),
                RawRule::Table { init, priority } => (init, *priority),
            };
            let init: Initializer = init.parse().map_err(|e: Error| {
                lines.error(at, format!("rule '{}': {e}", pattern.get_ref()))
            })?;
            let matcher = GlobBuilder::new(pattern.get_ref())
                .literal_separator(false)
                .build()
                .map_err(|e| lines.error(at, format!("rule '{}': {e}", pattern.get_ref())))?
                .compile_matcher();
            rules.push(Rule {
                pattern: pattern.get_ref().clone(),
                matcher,
                init,
                priority,
                line: lines.line(at),
            });
        }
        rules.sort_by_key(|r| r.line);

        let mut tensors = Vec::new();
        for t in &raw.tensor {
            tensors.push(spec_tensor(&lines, t, t.get_ref().name.clone())?);
        }
        for block in &raw.repeat {
            let at = block.span().start;
            let b = block.get_ref();
            if !(1..=MAX_REPEAT).contains(&b.count) {
                return Err(lines.error(
                    at,
                    format!("repeat count must be in 1..={MAX_REPEAT}, got {}", b.count),
                ));
            }
            for t in &b.tensor {
                let name = &t.get_ref().name;
                if !name.contains("{i}") {
                    return Err(lines.error(
                        t.span().start,
                        format!("repeated tensor name '{name}' has no '{{i}}' to number it"),
                    ));
                }
            }
            for i in 0..b.count {
                for t in &b.tensor {
                    let name = t.get_ref().name.replace("{i}", &i.to_string());
                    tensors.push(spec_tensor(&lines, t, name)?);
                }
            }
        }
        let mut seen = HashMap::new();
        for t in &tensors {
            if let Some(first) = seen.insert(t.name.as_str(), t.line) {
                return Err(Error::Spec {
                    origin: origin.to_string(),
                    line: Some(t.line),
                    reason: format!(
                        "tensor '{}' is listed twice (first on line {first})",
                        t.name
                    ),
                });
            }
        }
        log::info!(
            "model: spec {origin}: {} tensors, {} rules",
            tensors.len(),
            rules.len()
        );

        Ok(Self {
            origin: origin.to_string(),
            seed: raw.seed.map_or(0, |s| s.into_inner()),
            dtype: dtype.unwrap_or_default(),
            layout: layout.unwrap_or_default(),
            init,
            rules,
            tensors,
        })
    }

    /// The names of the spec's tensors, in order.
    pub fn tensor_names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|t| t.name.as_str())
    }

    /// Resolves every tensor to a [`TensorPlan`]: its initializer (see the module docs for the
    /// precedence), dtype, layout, and the stream of its name.
    ///
    /// With `like`, the tensors are those of a checkpoint header, in its order, with its
    /// shapes and dtypes; a spec tensor of the same name still gives its `init`, `layout`
    /// (and `dtype` is the header's), and spec tensors that the checkpoint lacks are left out.
    ///
    /// # Errors
    /// [`Error::Spec`] for a rule that matches no tensor, a tensor that rules of equal
    /// priority give different initializers, a tensor with no initializer, or a shape the
    /// initializer cannot take.
    pub fn plan(
        &self,
        like: Option<&[TensorHeader]>,
        overrides: &Overrides,
    ) -> Result<Vec<TensorPlan>> {
        let seed = overrides.seed.unwrap_or(self.seed);
        let listed = self.resolve_list(like);
        let mut matched = vec![false; self.rules.len()];
        let mut plans = Vec::with_capacity(listed.len());
        for t in &listed {
            let hits: Vec<usize> = (0..self.rules.len())
                .filter(|&r| self.rules[r].matcher.is_match(&t.name))
                .collect();
            for &r in &hits {
                matched[r] = true;
            }
            let init = match t.init {
                Some(init) => init,
                None => self.rule_init(t, &hits)?,
            };
            let dtype = overrides.dtype.or(t.dtype).unwrap_or(self.dtype);
            let layout = t.layout.unwrap_or(self.layout);
            let plan = TensorPlan::new(&t.name, &t.shape, dtype, init, layout, seed)
                .map_err(|e| self.error(t.line, format!("tensor '{}': {e}", t.name)))?;
            plans.push(plan);
        }
        if let Some(r) = matched.iter().position(|m| !m) {
            let rule = &self.rules[r];
            return Err(self.error(
                rule.line,
                format!("rule '{}' matches no tensor", rule.pattern),
            ));
        }
        log::info!("model: planned {} tensors, seed {seed}", plans.len());
        Ok(plans)
    }

    /// The tensors to generate: the spec's, or the header's merged with the spec's entries.
    fn resolve_list(&self, like: Option<&[TensorHeader]>) -> Vec<SpecTensor> {
        let Some(headers) = like else {
            return self.tensors.clone();
        };
        let by_name: HashMap<&str, &SpecTensor> =
            self.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let in_file: HashSet<&str> = headers.iter().map(|h| h.name.as_str()).collect();
        let dropped = self.tensor_names().filter(|n| !in_file.contains(n)).count();
        if dropped > 0 {
            log::info!("model: {dropped} spec tensor(s) are not in the --like checkpoint");
        }
        headers
            .iter()
            .map(|h| {
                let spec = by_name.get(h.name.as_str());
                SpecTensor {
                    name: h.name.clone(),
                    shape: h.shape.clone(),
                    init: spec.and_then(|s| s.init),
                    dtype: Some(h.dtype),
                    layout: spec.and_then(|s| s.layout),
                    line: spec.map_or(0, |s| s.line),
                }
            })
            .collect()
    }

    /// The initializer the rules (or the default) give `t`, whose matching rules are `hits`.
    fn rule_init(&self, t: &SpecTensor, hits: &[usize]) -> Result<Initializer> {
        let Some(top) = hits.iter().map(|&r| self.rules[r].priority).max() else {
            return self.init.map(|(init, _)| init).ok_or_else(|| {
                self.error(
                    t.line,
                    format!(
                        "tensor '{}' has no initializer: give it `init`, add a rule that \
                         matches it, or set a top-level `init`",
                        t.name
                    ),
                )
            });
        };
        let winners: Vec<&Rule> = hits
            .iter()
            .map(|&r| &self.rules[r])
            .filter(|r| r.priority == top)
            .collect();
        let first = winners[0];
        if let Some(other) = winners.iter().find(|r| r.init != first.init) {
            return Err(self.error(
                other.line,
                format!(
                    "rules '{}' (line {}, '{}') and '{}' (line {}, '{}') both match tensor \
                     '{}' with priority {top}: give one a higher `priority`",
                    first.pattern,
                    first.line,
                    first.init,
                    other.pattern,
                    other.line,
                    other.init,
                    t.name
                ),
            ));
        }
        Ok(first.init)
    }

    fn error(&self, line: usize, reason: String) -> Error {
        Error::Spec {
            origin: self.origin.clone(),
            line: (line > 0).then_some(line),
            reason,
        }
    }
}

fn spec_tensor(lines: &Lines<'_>, t: &Spanned<RawTensor>, name: String) -> Result<SpecTensor> {
    let raw = t.get_ref();
    Ok(SpecTensor {
        name,
        shape: raw.shape.clone(),
        init: lines.parse_opt(&raw.init)?,
        dtype: lines.parse_opt(&raw.dtype)?,
        layout: lines.parse_opt(&raw.layout)?,
        line: lines.line(t.span().start),
    })
}

#[cfg(test)]
mod tests;
