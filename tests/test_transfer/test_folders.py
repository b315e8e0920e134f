"""A folder of class sub-folders: its classes, and one clear line when it cannot be used."""

import pytest
from PIL import Image

from mmmixer.errors import InputError
from mmmixer.transfer.folders import check_same_classes, read_class_folders


def image_folder(root, counts: dict[str, int]):
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.new('RGB', (8, 8), (i * 40, 0, 0)).save(root / name / f'{i}.png')
    return root


def test_classes_are_the_sorted_sub_folders_with_their_image_counts(tmp_path):
    folder = read_class_folders(str(image_folder(tmp_path / 'd', {'zebra': 2, 'ant': 3})))
    assert folder.classes == ['ant', 'zebra'] and folder.counts == [3, 2] and folder.num_images == 5


@pytest.mark.parametrize(
    ('counts', 'message'),
    [
        ({'cats': 4}, "only the class 'cats'; a classifier needs at least 2 classes"),
        ({}, 'no class sub-folder'),
        ({'a': 2, 'b': 0}, r'class folder\(s\) b hold no image'),
    ],
)
def test_unusable_folders_are_one_line(tmp_path, counts, message):
    root = image_folder(tmp_path / 'd', counts)
    root.mkdir(exist_ok=True)
    with pytest.raises(InputError, match=message) as error:
        read_class_folders(str(root))
    assert '\n' not in str(error.value)


def test_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(InputError, match='is not a folder'):
        read_class_folders(str(tmp_path / 'nowhere'), 'the training folder')


def test_a_test_folder_with_other_classes_is_refused(tmp_path):
    train = read_class_folders(str(image_folder(tmp_path / 'train', {'a': 1, 'b': 1, 'c': 1})))
    test = read_class_folders(str(image_folder(tmp_path / 'test', {'a': 1, 'b': 1, 'd': 1})))
    with pytest.raises(InputError, match='lacks c and has d that the training folder lacks'):
        check_same_classes(train, test, 'the --test folder')
    check_same_classes(train, train, 'the --test folder')


def test_the_classes_are_those_mmpretrains_custom_dataset_reads(tmp_path):
    from mmpretrain.datasets import CustomDataset

    root = image_folder(tmp_path / 'd', {'ant': 2, 'bee': 3})
    (root / 'bee' / '.hidden.png').write_bytes((root / 'bee' / '0.png').read_bytes())  # skipped by both
    ours = read_class_folders(str(root))
    theirs = CustomDataset(data_root=str(root), data_prefix='', pipeline=[], lazy_init=False)
    assert ours.classes == list(theirs.CLASSES)
    assert ours.num_images == len(theirs)


def test_a_hidden_folder_that_mmpretrain_would_take_for_a_class_is_refused(tmp_path):
    root = image_folder(tmp_path / 'd', {'ant': 2, 'bee': 2, '.ipynb_checkpoints': 1})
    with pytest.raises(InputError, match=r'hidden folder \.ipynb_checkpoints, which mmpretrain.s CustomDataset'):
        read_class_folders(str(root))
