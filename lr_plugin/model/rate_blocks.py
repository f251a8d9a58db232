"""Where a rate summary keeps its full-detail rates: compressed blocks, or the array itself.

The plugin keeps every rate of every run it serves, to answer any zoom exactly.
Held as an array, that is 4 bytes a step (float32): 44 MB for a 10M-step run
and its 1M-step sibling, more than everything else TensorBoard holds for them.
``RateBlocks`` keeps them as blocks of ``BLOCK`` rates compressed by
``lr_plugin.format.rate_codec`` (0.01-0.6 bytes a step) and decodes a block
only when an answer reads a rate in it: the summary's levels and change points
carry their own rates, so a budgeted answer reads single rates only at its
window's two ends (at most 4 blocks, about 0.25 ms each), and a window sent
whole (at most the budget, 2,000 points by default) decodes the one or two
blocks that hold it.

``PlainRates`` has the same interface over an array held as is, for one-shot
uses (``lr_plugin.model.downsample``) where compressing would only cost time.
"""

import numpy as np

from lr_plugin.format import rate_codec

BLOCK = 8192
"""Rates per compressed block: a refresh's tail decodes one or two (32-64 KB of float32)."""


class PackedBlocks:
    """Byte blocks held in one buffer: ``packed[number]`` is a block, as a memoryview.

    One buffer, not a bytes object per block: small objects allocated among a
    build's temporaries would keep their heap from going back to the system.

    Args:
        blocks: the blocks (bytes), in order; read once, not kept.
    """

    def __init__(self, blocks):
        self._ends = np.cumsum([len(block) for block in blocks], dtype=np.int64)
        self._data = b"".join(blocks)

    def __len__(self):
        return int(self._ends.size)

    @property
    def nbytes(self):
        return len(self._data) + self._ends.nbytes

    def __getitem__(self, number):
        start = int(self._ends[number - 1]) if number else 0
        return memoryview(self._data)[start:int(self._ends[number])]


class PlainRates:
    """Rates held as an array (float32 or float64).

    Args:
        rates: 1-D float32 or float64 array; kept, not copied.
    """

    def __init__(self, rates):
        self._rates = rates
        self.dtype = rates.dtype
        self.size = int(rates.size)

    @property
    def nbytes(self):
        return self._rates.nbytes

    def window(self, i0, i1):
        """``Window`` of the rates ``i0 .. i1 - 1``."""
        return Window(i0, i1, self.dtype, lambda number: self._rates[number * BLOCK:(number + 1) * BLOCK])

    def values(self):
        """Every rate, as an array (the held one: do not change it)."""
        return self._rates


class RateBlocks:
    """Rates held compressed, in blocks of ``BLOCK`` (see the module docstring).

    Args:
        rates: 1-D float32 or float64 array; read once, not kept.
    """

    def __init__(self, rates):
        self.dtype = rates.dtype
        self.size = int(rates.size)
        self._blocks = PackedBlocks(
            [rate_codec.encode(rates[i:i + BLOCK]) for i in range(0, self.size, BLOCK)])

    @property
    def nbytes(self):
        return self._blocks.nbytes

    def window(self, i0, i1):
        """``Window`` of the rates ``i0 .. i1 - 1``: blocks are decoded as they are read."""
        return Window(i0, i1, self.dtype, self._decode)

    def values(self):
        """Every rate, as a new array."""
        blocks = [self._decode(number) for number in range(len(self._blocks))]
        return np.concatenate(blocks) if blocks else np.zeros(0, self.dtype)

    def _decode(self, number):
        count = min(BLOCK, self.size - number * BLOCK)
        return rate_codec.decode(self._blocks[number], count, self.dtype.itemsize)


class Window:
    """The rates ``i0 .. i1 - 1`` of a series, read by their positions in the series.

    ``window[indices]`` takes an int array of any shape and decodes only the
    blocks those positions fall in, each once per window. -1 (the summary's
    "none") reads 0, which callers mask out.

    Raises:
        IndexError: for any other position outside the window (a summary bug).
    """

    def __init__(self, i0, i1, dtype, block):
        self.i0, self.i1, self.dtype = i0, i1, dtype
        self._block = block
        self._decoded = {}

    def __getitem__(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        real = indices >= 0
        wanted = indices[real]
        out = np.zeros(indices.shape, self.dtype)
        if wanted.size == 0:
            return out
        if wanted.min() < self.i0 or wanted.max() >= self.i1:
            raise IndexError(
                f"rates outside the window {self.i0}..{self.i1 - 1} were asked for "
                f"(positions {int(wanted.min())}..{int(wanted.max())})")
        numbers, where = np.unique(wanted // BLOCK, return_inverse=True)
        values = np.empty(wanted.size, self.dtype)
        for k, number in enumerate(numbers.tolist()):
            if number not in self._decoded:
                self._decoded[number] = self._block(number)
            chosen = where == k
            values[chosen] = self._decoded[number][wanted[chosen] - number * BLOCK]
        out[real] = values
        return out
