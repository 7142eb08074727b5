"""UCR loader: shared UCR 2015 sets, 2018 TSV with NaN padding, .ts (multivariate), and bad inputs."""
import numpy as np
import pytest

from decompjax.data import ucr


def _write(path, text):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(text)


def test_shared_ecg200_import(ucr_dir):
  d = ucr.load_ucr(ucr_dir, "ECG200")
  assert d.train_x.shape == (100, 96, 1) and d.test_x.shape == (100, 96, 1)
  assert d.train_x.dtype == np.float32 and d.source == "ucr2015" and not d.variable_length
  np.testing.assert_array_equal(d.classes, [-1, 1])  # LabelEncoder on train: -1 -> 0, 1 -> 1
  raw = np.loadtxt(ucr_dir / "ECG200" / "ECG200_TRAIN", delimiter=",")
  np.testing.assert_array_equal(d.train_y, (raw[:, 0] == 1).astype(np.int32))
  assert abs(d.train_x.mean()) < 1e-5 and abs(d.train_x.std() - 1) < 1e-5  # one global scalar
  mean, std = raw[:, 1:].mean(), raw[:, 1:].std()
  raw_test = np.loadtxt(ucr_dir / "ECG200" / "ECG200_TEST", delimiter=",")
  np.testing.assert_allclose(d.test_x[..., 0], (raw_test[:, 1:] - mean) / std, atol=1e-5)


def test_2018_names_resolve_to_2015_folders_and_summary(ucr_dir):
  d = ucr.load_ucr(ucr_dir, "GunPoint")
  assert d.train_x.shape == (50, 150, 1) and d.num_classes == 2
  acc = ucr.summary_accuracies(ucr_dir / "DataSummary.csv", "Gun_Point")
  assert acc == {"1nn_ed": 0.9133, "1nn_dtw_learned": 0.9133, "1nn_dtw": 0.9067}


def test_tf_dataset_source(ucr_dir):
  d = ucr.load_ucr(ucr_dir, "Coffee")
  ds = ucr.make_dataset(d, "test")
  first = next(iter(ds.as_numpy_iterator()))
  assert first["x"].shape == (286, 1) and first["label"].dtype == np.int32
  assert len(list(ucr.make_dataset(d, "train", process_index=1, process_count=2))) == 14
  with pytest.raises(ValueError, match="split"):
    ucr.make_dataset(d, "val")


def test_tsv_nan_padding_becomes_zero(tmp_path):
  _write(tmp_path / "Var" / "Var_TRAIN.tsv", "1\t1.0\t2.0\t3.0\t4.0\n2\t5.0\t6.0\tNaN\tNaN\n")
  _write(tmp_path / "Var" / "Var_TEST.tsv", "2\t1.0\t2.0\t3.0\tNaN\n")
  d = ucr.load_ucr(tmp_path, "Var")
  assert d.source == "ucr2018" and d.variable_length
  vals = np.array([1, 2, 3, 4, 5, 6.0])
  np.testing.assert_allclose(d.train_x[1, 2:, 0], 0.0)  # NaN padding -> 0 after standardising
  np.testing.assert_allclose(d.train_x[0, :, 0], (vals[:4] - vals.mean()) / vals.std(), atol=1e-6)
  np.testing.assert_array_equal(d.test_y, [1])


def test_missing_values_inside_a_series_are_an_error_by_default(tmp_path):
  # Row 2 of TRAIN: a gap at values 2 and 3, then padding. Trailing NaN stays padding (-> 0), as above.
  train = tmp_path / "Gap" / "Gap_TRAIN.tsv"
  _write(train, "1\t1.0\t2.0\t3.0\t4.0\t5.0\n2\t5.0\tNaN\tNaN\t8.0\tNaN\n")
  _write(tmp_path / "Gap" / "Gap_TEST.tsv", "2\t1.0\t2.0\t3.0\tNaN\tNaN\n")
  with pytest.raises(ValueError, match=rf"{train}:2: 2 missing value\(s\).*position\(s\) \[2, 3\].*interpolate"):
    ucr.load_ucr(tmp_path, "Gap")
  d = ucr.load_ucr(tmp_path, "Gap", standardize=False, nan_policy="interpolate")
  np.testing.assert_array_equal(d.train_x[1, :, 0], [5, 6, 7, 8, 0])  # linear inside, padding -> 0
  np.testing.assert_array_equal(d.test_x[0, :, 0], [1, 2, 3, 0, 0])
  assert d.variable_length


def test_missing_values_policy_ts_and_leading_gaps(tmp_path):
  header = "@problemName G\n@univariate true\n@classLabel true a b\n@data\n"
  train = tmp_path / "G" / "G_TRAIN.ts"
  _write(train, header + "?,?,3,4:a\n1,2,3,4:b\n")
  _write(tmp_path / "G" / "G_TEST.ts", header + "1,2,3:b\n")
  with pytest.raises(ValueError, match=rf"{train}:5: 2 missing value"):
    ucr.load_ucr(tmp_path, "G", standardize=False)
  d = ucr.load_ucr(tmp_path, "G", standardize=False, nan_policy="interpolate")
  np.testing.assert_array_equal(d.train_x[0, :, 0], [3, 3, 3, 4])  # a leading gap takes the first value
  with pytest.raises(ValueError, match="nan_policy"):
    ucr.load_ucr(tmp_path, "G", nan_policy="zero")


def test_ragged_rows_are_padded(tmp_path):
  _write(tmp_path / "R" / "R_TRAIN", "1,1,2,3\n2,4,5\n")
  _write(tmp_path / "R" / "R_TEST", "1,1,2,3,4,5\n")
  d = ucr.load_ucr(tmp_path, "R", standardize=False)
  assert d.variable_length and d.train_x.shape == (2, 5, 1) and d.test_x.shape == (1, 5, 1)
  np.testing.assert_array_equal(d.train_x[1, :, 0], [4, 5, 0, 0, 0])


def test_multivariate_ts(tmp_path):
  header = "@problemName MV\n@timeStamps false\n@univariate false\n@classLabel true a b\n@data\n"
  _write(tmp_path / "MV" / "MV_TRAIN.ts", header + "1,2,3:4,5,6:a\n7,8,9:1,?,3:b\n")
  _write(tmp_path / "MV" / "MV_TEST.ts", header + "1,2,3:4,5,6:b\n")
  d = ucr.load_ucr(tmp_path, "MV", standardize=False, nan_policy="interpolate")
  assert d.source == "ts" and d.train_x.shape == (2, 3, 2)
  np.testing.assert_array_equal(d.train_x[1, :, 1], [1, 2, 3])  # '?' inside the series: interpolated
  np.testing.assert_array_equal(d.classes, ["a", "b"])
  np.testing.assert_array_equal(d.test_y, [1])


@pytest.mark.parametrize("train,test,exc,match", [
    ("@data\n1,2:3,4:a\n1,2:b\n", "@data\n1,2:3,4:a\n", ValueError, "dimensions"),
    ("@timeStamps true\n@data\n(0,1),(1,2):a\n", "@data\n1,2:a\n", ValueError, "timestamped"),
    ("@data\n1,2,3:a\n", "@data\n1,2,3:z\n", ValueError, "do not occur in TRAIN"),
    ("@classLabel false\n@data\n1,2,3\n", "@data\n1,2,3\n", ValueError, "class labels"),
])
def test_bad_ts_files(tmp_path, train, test, exc, match):
  _write(tmp_path / "B" / "B_TRAIN.ts", train)
  _write(tmp_path / "B" / "B_TEST.ts", test)
  with pytest.raises(exc, match=match):
    ucr.load_ucr(tmp_path, "B", standardize=False)


def test_missing_and_malformed_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="not found"):
    ucr.load_ucr(tmp_path, "Nope")
  with pytest.raises(FileNotFoundError, match="does not exist"):
    ucr.load_ucr(tmp_path / "absent", "Nope")
  _write(tmp_path / "Half" / "Half_TRAIN", "1,2,3\n")
  with pytest.raises(FileNotFoundError, match="found one split"):
    ucr.load_ucr(tmp_path, "Half")
  _write(tmp_path / "Txt" / "Txt_TRAIN", "1,abc,3\n")
  _write(tmp_path / "Txt" / "Txt_TEST", "1,2,3\n")
  with pytest.raises(ValueError, match="not a numeric UCR row"):
    ucr.load_ucr(tmp_path, "Txt")
  _write(tmp_path / "E" / "E_TRAIN", "\n")
  _write(tmp_path / "E" / "E_TEST", "1,2\n")
  with pytest.raises(ValueError, match="no series"):
    ucr.load_ucr(tmp_path, "E")
  with pytest.raises(ValueError, match="no UCR dataset name"):
    ucr.load_ucr(tmp_path, "")


def test_packaged_ecg200_matches_shared(ucr_dir):
  a, b = ucr.load_ucr(ucr.resolve_dir(""), "ECG200"), ucr.load_ucr(ucr_dir, "ECG200")
  np.testing.assert_array_equal(a.train_x, b.train_x)
