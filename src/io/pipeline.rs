//! The generate-while-writing pipeline: a producer thread fills chunks, the caller writes them.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use super::{ChunkMut, Filler, Progress, TensorPlan, WriteOptions, io_error};
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Buffers in circulation: one being filled while one is written. A third would only help if
/// generation and writing took turns being slow within one tensor.
const BUFFERS: usize = 2;

/// A filled chunk: its buffer and how many of its bytes are data.
type Filled = (Vec<u64>, usize);

/// Streams the data of `tensors`, in order, to `out`.
pub(super) fn stream(
    out: &mut dyn Write,
    tensors: &[&TensorPlan],
    filler: &dyn Filler,
    options: &WriteOptions,
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    // Buffers are u64 so that any element type can be viewed in them, aligned.
    let words = (options.chunk_bytes / 8).max(1);
    let bytes_total: u64 = tensors.iter().map(|t| t.bytes()).sum();
    let (full_tx, full_rx) = sync_channel::<Result<Filled>>(BUFFERS);
    let (empty_tx, empty_rx) = channel::<Vec<u64>>();
    for _ in 0..BUFFERS {
        // The receiver is alive here, so this cannot fail.
        let _ = empty_tx.send(vec![0u64; words]);
    }

    std::thread::scope(|scope| {
        scope.spawn(move || produce(tensors, filler, options, words * 8, empty_rx, full_tx));
        consume(
            out,
            tensors,
            options,
            path,
            bytes_total,
            full_rx,
            empty_tx,
            progress,
        )
        // Leaving `consume` drops its channel ends, which makes the producer stop at its next
        // send or receive; the scope then joins it.
    })
}

/// Fills chunks of every tensor in order, until done, cancelled, or the writer hangs up.
fn produce(
    tensors: &[&TensorPlan],
    filler: &dyn Filler,
    options: &WriteOptions,
    chunk_bytes: usize,
    empty: Receiver<Vec<u64>>,
    full: SyncSender<Result<Filled>>,
) {
    for tensor in tensors {
        let n = tensor.numel();
        let per_chunk = (chunk_bytes / tensor.dtype().size()) as u64;
        let mut start = 0u64;
        while start < n {
            if options.cancelled() {
                return;
            }
            let Ok(mut buf) = empty.recv() else {
                return;
            };
            let len = per_chunk.min(n - start) as usize;
            let filled = fill(filler, tensor, start, len, &mut buf).map(|b| (buf, b));
            let failed = filled.is_err();
            if full.send(filled).is_err() || failed {
                return;
            }
            start += len as u64;
        }
    }
}

/// Fills `len` elements of `tensor` from `start` into `buf`; returns the byte count.
fn fill(
    filler: &dyn Filler,
    tensor: &TensorPlan,
    start: u64,
    len: usize,
    buf: &mut [u64],
) -> Result<usize> {
    let (sampler, rng) = (tensor.sampler(), tensor.rng());
    let chunk = match tensor.dtype() {
        DType::F32 => ChunkMut::F32(&mut bytemuck::cast_slice_mut(buf)[..len]),
        DType::F64 => ChunkMut::F64(&mut bytemuck::cast_slice_mut(buf)[..len]),
        DType::F16 => ChunkMut::F16(&mut bytemuck::cast_slice_mut(buf)[..len]),
        DType::BF16 => ChunkMut::BF16(&mut bytemuck::cast_slice_mut(buf)[..len]),
    };
    filler.fill_chunk(sampler, rng, start, chunk)?;
    Ok(len * tensor.dtype().size())
}

/// Writes chunks as they arrive and hands their buffers back.
#[allow(clippy::too_many_arguments)]
fn consume(
    out: &mut dyn Write,
    tensors: &[&TensorPlan],
    options: &WriteOptions,
    path: &Path,
    bytes_total: u64,
    full: Receiver<Result<Filled>>,
    empty: Sender<Vec<u64>>,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let mut done = Progress {
        bytes_done: 0,
        bytes_total,
        tensors_done: 0,
    };
    let mut tensor_ends = tensors.iter().scan(0u64, |end, t| {
        *end += t.bytes();
        Some(*end)
    });
    let mut next_end = tensor_ends.next();
    while done.bytes_done < bytes_total {
        if options.cancelled() {
            return Err(Error::Interrupted {
                path: path.display().to_string(),
            });
        }
        let (buf, len) = match full.recv() {
            Ok(filled) => filled?,
            // The producer only stops early when cancelled.
            Err(_) => {
                return Err(Error::Interrupted {
                    path: path.display().to_string(),
                });
            }
        };
        out.write_all(&bytemuck::cast_slice::<u64, u8>(&buf)[..len])
            .map_err(|e| io_error(path, &format!("writing: {e}")))?;
        // The producer may have finished and hung up; the buffer is then simply freed.
        let _ = empty.send(buf);
        done.bytes_done += len as u64;
        while next_end.is_some_and(|end| end <= done.bytes_done) {
            done.tensors_done += 1;
            next_end = tensor_ends.next();
        }
        progress(done);
    }
    Ok(())
}
