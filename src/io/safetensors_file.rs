//! The `.safetensors` header: built with the `safetensors` crate's own `Metadata`, and read
//! back from a file without touching its data.
//!
//! Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON (padded with spaces to
//! a multiple of 8), then the tensors' bytes back to back at the offsets the JSON gives.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata, TensorInfo};

use super::TensorPlan;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The largest header the reference reader accepts.
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor of a checkpoint's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorHeader {
    /// The tensor's name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<u64>,
    /// Its element type.
    pub dtype: DType,
}

fn to_safetensors(dtype: DType) -> Dtype {
    match dtype {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
    }
}

/// The header bytes and the order (indices into `tensors`) in which the data must follow.
pub(super) fn header(
    tensors: &[TensorPlan],
    extra: &[(String, String)],
) -> Result<(Vec<u8>, Vec<usize>)> {
    let bad = |reason: String| Error::Spec {
        origin: "safetensors header".into(),
        line: None,
        reason,
    };
    let mut seen = HashSet::new();
    if let Some(t) = tensors.iter().find(|t| !seen.insert(t.name())) {
        return Err(bad(format!("tensor name '{}' appears twice", t.name())));
    }
    if let Some(t) = tensors.iter().find(|t| t.name() == "__metadata__") {
        return Err(bad(format!(
            "'{}' is reserved and cannot name a tensor",
            t.name()
        )));
    }

    // Largest elements first keeps every tensor aligned to its element size, since the data
    // starts 8-aligned; the sort is stable, so same-size tensors keep the given order.
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tensors[i].dtype().size()));
    let too_big = |name: &str| bad(format!("tensor '{name}' is too large for this machine"));
    let mut offset = 0usize;
    let mut infos = Vec::with_capacity(tensors.len());
    for &i in &order {
        let t = &tensors[i];
        let bytes = usize::try_from(t.bytes()).map_err(|_| too_big(t.name()))?;
        let shape = t
            .shape()
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| too_big(t.name())))
            .collect::<Result<Vec<_>>>()?;
        let end = offset.checked_add(bytes).ok_or_else(|| too_big(t.name()))?;
        infos.push((
            t.name().to_string(),
            TensorInfo {
                dtype: to_safetensors(t.dtype()),
                shape,
                data_offsets: (offset, end),
            },
        ));
        offset = end;
    }
    let metadata = Metadata::new(None, infos).map_err(|e| bad(e.to_string()))?;
    let tensors_json = serde_json::to_string(&metadata).map_err(|e| bad(e.to_string()))?;
    // `Metadata` keeps `__metadata__` in a HashMap, whose order changes from run to run; a
    // sorted map spliced in front keeps the file's bytes a function of its inputs alone.
    let mut meta: BTreeMap<&str, &str> = extra.iter().map(|(k, v)| (&**k, &**v)).collect();
    meta.insert("format", "pt");
    let meta_json = serde_json::to_string(&meta).map_err(|e| bad(e.to_string()))?;
    let rest = tensors_json.strip_prefix('{').unwrap_or(&tensors_json);
    let sep = if rest == "}" { "" } else { "," };
    let json = format!("{{\"__metadata__\":{meta_json}{sep}{rest}");

    let mut out = Vec::with_capacity(8 + json.len() + 8);
    let padded = json.len().next_multiple_of(8);
    out.extend_from_slice(&(padded as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.resize(8 + padded, b' ');
    Ok((out, order))
}

/// The tensors of a `.safetensors` file, in data order, reading only its header.
///
/// The header is checked as the reference reader checks it (offsets contiguous and matching
/// each shape and dtype), and the file's size must match the header's data length.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read or is not a `.safetensors` file (too short,
/// header length out of range, JSON not valid, offsets inconsistent, size mismatch), and
/// [`Error::Spec`] for a tensor whose dtype varscale cannot generate.
pub fn read_safetensors_header(path: &Path) -> Result<Vec<TensorHeader>> {
    let io = |reason: String| Error::Io {
        path: path.display().to_string(),
        reason,
    };
    let not_st = |why: &str| io(format!("not a safetensors file: {why}"));
    let mut file = File::open(path).map_err(|e| io(e.to_string()))?;
    let meta = file.metadata().map_err(|e| io(e.to_string()))?;
    if !meta.is_file() {
        return Err(not_st("not a regular file"));
    }
    let file_len = meta.len();

    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| not_st("shorter than the 8-byte header length"))?;
    let n = u64::from_le_bytes(len);
    if n == 0 || n > MAX_HEADER_BYTES || n > file_len - 8 {
        return Err(not_st(&format!(
            "header length {n} is out of range for a file of {file_len} bytes"
        )));
    }
    let mut json = vec![0u8; n as usize];
    file.read_exact(&mut json).map_err(|e| io(e.to_string()))?;
    let json = std::str::from_utf8(&json).map_err(|_| not_st("header is not UTF-8"))?;
    let metadata: Metadata =
        serde_json::from_str(json).map_err(|e| not_st(&format!("header: {e}")))?;
    let expected = 8 + n + metadata.data_len() as u64;
    if expected != file_len {
        return Err(not_st(&format!(
            "header describes {expected} bytes but the file has {file_len}"
        )));
    }

    metadata
        .offset_keys()
        .into_iter()
        .map(|name| {
            let Some(info) = metadata.info(&name) else {
                return Err(not_st(&format!(
                    "tensor '{name}' missing from its own header"
                )));
            };
            let dtype = match info.dtype {
                Dtype::F32 => DType::F32,
                Dtype::F64 => DType::F64,
                Dtype::F16 => DType::F16,
                Dtype::BF16 => DType::BF16,
                // LIMIT: integer and 8-bit float tensors (position ids, quantised weights)
                // cannot be re-initialised; a checkpoint holding one is refused whole.
                other => {
                    return Err(Error::Spec {
                        origin: path.display().to_string(),
                        line: None,
                        reason: format!(
                            "tensor '{name}' has dtype {other:?}; only F32, F64, F16 and BF16 \
                             can be initialised"
                        ),
                    });
                }
            };
            Ok(TensorHeader {
                shape: info.shape.iter().map(|&d| d as u64).collect(),
                name,
                dtype,
            })
        })
        .collect()
}
