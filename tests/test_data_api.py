"""PyTorch's data API: TensorDataset, ConcatDataset, samplers, default_collate and the
DataLoader's options, compared with torch.utils.data where the numbers can be."""

import collections

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import data


def _torch_data():
    torch = pytest.importorskip("torch")
    return torch, torch.utils.data


class Squares(data.Dataset):
    """A per-item data set, as a user writes one."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 2), i, np.float32), i, {"name": f"item{i}", "half": i / 2}


def test_tensor_dataset_items_and_batches_match_torch():
    torch, tud = _torch_data()
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10) % 3
    ours = data.TensorDataset(tg.tensor(x), tg.tensor(y))
    theirs = tud.TensorDataset(torch.tensor(x), torch.tensor(y))
    item = ours[4]
    assert isinstance(item, tuple) and item[0].tolist() == theirs[4][0].tolist()
    assert len(ours) == 10
    for (xb, yb), (xt, yt) in zip(data.DataLoader(ours, 4), tud.DataLoader(theirs, 4),
                                  strict=True):
        assert xb.shape == tuple(xt.shape) and np.array_equal(xb.numpy(), xt.numpy())
        assert yb.dtype == np.int64 and yb.tolist() == yt.tolist()
    with pytest.raises(ValueError, match="size mismatch"):
        data.TensorDataset(tg.zeros(3, 2), tg.zeros(4))


def test_concat_dataset_indexes_across_parts_like_torch():
    _, tud = _torch_data()
    a = data.TensorDataset(np.arange(3), np.arange(3) * 10)
    b = data.TensorDataset(np.arange(3, 8), np.arange(3, 8) * 10)
    both = a + b
    assert isinstance(both, data.ConcatDataset) and len(both) == 8
    reference = tud.ConcatDataset([list(range(3)), list(range(3, 8))])
    assert both.cumulative_sizes == reference.cumulative_sizes
    assert [int(both[i][0]) for i in range(-8, 8)] == [reference[i] for i in range(-8, 8)]
    # the batch path: parts fetched by array and put back in the order asked for
    idx = np.array([7, 0, 4, 2, 3])
    first, second = both[idx]
    assert first.tolist() == idx.tolist() and second.tolist() == (idx * 10).tolist()
    with pytest.raises(IndexError, match="out of range"):
        both[8]


def test_default_collate_matches_torch_on_nested_samples():
    torch, tud = _torch_data()
    Point = collections.namedtuple("Point", "x y")
    samples = [(np.full(3, i, np.float32), i, float(i) / 2, True, "s", {"p": Point(i, -i)})
               for i in range(4)]
    ours = data.default_collate(samples)
    theirs = tud.default_collate(samples)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for mine, ref in zip(ours[:4], theirs[:4], strict=True):
        assert np.dtype(mine.dtype) == np.dtype(str(ref.dtype).replace("torch.", ""))
        assert mine.tolist() == ref.tolist()
    assert ours[4] == theirs[4] == ("s",) * 4
    point = ours[5]["p"]
    assert isinstance(point, Point) and point.x.tolist() == theirs[5]["p"].x.tolist()
    with pytest.raises(ValueError, match="equal size"):
        data.default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found object"):
        data.default_collate([object()])


def test_per_item_dataset_batches_with_default_and_custom_collate():
    loader = data.DataLoader(Squares(5), batch_size=2)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    images, labels, extra = batches[2]
    assert images.shape == (1, 2, 2) and labels.tolist() == [4]
    assert list(extra["name"]) == ["item4"] and extra["half"].dtype == np.float64
    custom = data.DataLoader(Squares(5), batch_size=2, collate_fn=lambda items: len(items))
    assert list(custom) == [2, 2, 1]
    unbatched = list(data.DataLoader(Squares(3), batch_size=None))
    assert isinstance(unbatched[1][0], tg.Tensor) and unbatched[1][1] == 1


def test_samplers_follow_torch_semantics():
    _, tud = _torch_data()
    assert list(data.SequentialSampler(range(4))) == list(tud.SequentialSampler(range(4)))
    batches = list(data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False))
    assert batches == list(tud.BatchSampler(tud.SequentialSampler(range(7)), 3, False))
    assert len(data.BatchSampler(range(7), 3, drop_last=True)) == 2
    permutation = list(data.RandomSampler(range(10)))
    assert sorted(permutation) == list(range(10))
    more = list(data.RandomSampler(range(4), num_samples=10))
    assert len(more) == 10 and sorted(more[:4]) == [0, 1, 2, 3]
    drawn = list(data.RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    subset = list(data.SubsetRandomSampler([5, 7, 9]))
    assert sorted(subset) == [5, 7, 9]
    weighted = list(data.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200))
    assert set(weighted) == {1, 3} and weighted.count(3) > weighted.count(1)
    assert sorted(data.WeightedRandomSampler([1, 1, 1], 3, replacement=False)) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples"):
        data.RandomSampler(range(3), num_samples=0)


def test_generator_makes_shuffles_reproducible_without_the_global_state():
    dataset = data.TensorDataset(np.arange(20))

    def order(seed):
        g = tg.Generator().manual_seed(seed)
        loader = data.DataLoader(dataset, batch_size=5, shuffle=True, generator=g)
        return [batch.tolist() for (batch,) in loader] + [b.tolist() for (b,) in loader]

    assert order(3) == order(3) and order(3) != order(4)
    assert tg.random.Generator().manual_seed(9).initial_seed() == 9
    g = tg.random.Generator().manual_seed(1)
    state = g.get_state()
    first = g.next_seed()
    assert g.set_state(state).next_seed() == first
    sampler = data.RandomSampler(dataset, generator=tg.random.Generator().manual_seed(0))
    again = data.RandomSampler(dataset, generator=tg.random.Generator().manual_seed(0))
    assert list(data.DataLoader(dataset, 20, sampler=sampler))[0][0].tolist() == \
        list(again)


def test_sampler_and_batch_sampler_options():
    dataset = data.TensorDataset(np.arange(10))
    loader = data.DataLoader(dataset, batch_size=4, sampler=[9, 8, 7, 6, 5])
    assert [b.tolist() for (b,) in loader] == [[9, 8, 7, 6], [5]]
    loader = data.DataLoader(dataset, batch_sampler=[[0, 2], [4, 6, 8]])
    assert [b.tolist() for (b,) in loader] == [[0, 2], [4, 6, 8]]
    dropped = data.DataLoader(dataset, batch_size=4, drop_last=True)
    assert len(dropped) == 2 and len(list(dropped)) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"sampler": [0], "shuffle": True}, "mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually"),
    ({"batch_size": None, "drop_last": True}, "disables auto-batching"),
    ({"num_workers": -1}, "num_workers"),
    ({"prefetch_factor": 2}, "prefetch_factor"),
    ({"persistent_workers": True}, "persistent_workers"),
    ({"timeout": -1}, "timeout"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
])
def test_loader_refuses_contradictory_options_as_torch_does(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.DataLoader(data.TensorDataset(np.arange(3)), **kwargs)


def test_pin_memory_and_the_rest_of_torchs_signature_are_accepted():
    loader = data.DataLoader(data.TensorDataset(np.arange(6)), 2, False, None, None, 0, None,
                             True, False, 0, None, None, None, persistent_workers=False)
    assert [b.tolist() for (b,) in loader] == [[0, 1], [2, 3], [4, 5]]


def _fill_with_worker_id(worker_id):
    np.random.seed(1000 + worker_id)


def test_workers_yield_the_batches_of_num_workers_0_in_order():
    dataset = Squares(13)
    reference = list(data.DataLoader(dataset, batch_size=3))
    for persistent in (False, True):
        loader = data.DataLoader(dataset, batch_size=3, num_workers=2,
                                 persistent_workers=persistent,
                                 worker_init_fn=_fill_with_worker_id)
        for _ in range(2 if persistent else 1):
            batches = list(loader)
            assert len(batches) == len(reference)
            for ours, ref in zip(batches, reference, strict=True):
                assert np.array_equal(ours[0].numpy(), ref[0].numpy())
                assert ours[1].tolist() == ref[1].tolist()
                assert ours[2]["name"] == ref[2]["name"]


class Broken(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError(f"item {i} is missing")
        return i


def test_an_error_in_a_worker_is_raised_in_the_loop_with_its_traceback():
    loader = data.DataLoader(Broken(), batch_size=1, num_workers=1)
    with pytest.raises(KeyError, match="DataLoader worker process 0") as error:
        list(loader)
    assert "item 2 is missing" in str(error.value)


def test_workers_run_numba_kernels_after_the_parent_has():
    from tinygradcnn.data import transforms as T

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 1, 6, 6), dtype=np.uint8)
    # RandomCrop to the full size is the identity, but a per-item transform with a kernel
    transform = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.25), T.RandomCrop(6)])
    dataset = data.ArrayDataset(images, np.arange(12), transform=transform)
    assert not dataset.indexable_by_array
    here = list(data.DataLoader(dataset, batch_size=5))  # runs the kernels in this process
    there = list(data.DataLoader(dataset, batch_size=5, num_workers=1))
    for (x_here, y_here), (x_there, y_there) in zip(here, there, strict=True):
        assert np.array_equal(x_here.numpy(), x_there.numpy())
        assert y_here.tolist() == y_there.tolist()
    assert np.allclose(here[0][0].numpy(), (images[:5] / 255 - 0.5) / 0.25, atol=1e-6)


def test_a_dataset_that_cannot_reach_a_worker_is_a_clear_error():
    dataset = data.ArrayDataset(np.zeros((4, 1, 2, 2), np.uint8), np.arange(4),
                                transform=lambda picture: 0)
    with pytest.raises(TypeError, match="cannot send the data set"):
        list(data.DataLoader(dataset, batch_size=2, num_workers=1))
