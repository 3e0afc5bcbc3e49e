// Checkpoint reader/writer: the released layout, tolerance of trainer leftovers, corruption.
#include "vamp/checkpoint.h"
#include "vamp/codec.h"
#include "vamp/npy.h"
#include "zip.h"
// check.h defines a `fail` macro: include it after engine headers.
#include "testutil.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The error message of loading `path`, or "" when it loads.
std::string load_error(const std::string& path) {
  try {
    vamp::load_checkpoint(path);
  } catch (const vamp::CheckpointError& e) {
    return e.what();
  }
  return "";
}

// A zip holding only x/data.pkl with the given pickle bytes.
std::string pickle_archive(const std::string& name, const std::string& pkl) {
  const std::string path = vamp::test::scratch(name);
  vamp::zip::Writer w(path);
  w.add("x/data.pkl", pkl.data(), pkl.size());
  w.finish();
  return path;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

vamp::Checkpoint sample_checkpoint() {
  vamp::Checkpoint ck;
  ck.add("a.weight", at::arange(24, at::kFloat).reshape({2, 3, 4}));
  ck.add("a.bias", at::tensor({-1.5f, 2.25f}));
  ck.add("ids", at::tensor({int64_t(-3), int64_t(1) << 40}));
  ck.add("flags", at::arange(2) < 1);  // [true, false]
  ck.add("strided", at::arange(6, at::kFloat).reshape({2, 3}).t());  // non-contiguous
  ck.kwargs = vamp::py_dict({{"dim", vamp::py_int(64)},
                             {"neg", vamp::py_int(-70000)},
                             {"big", vamp::py_int(int64_t(1) << 40)},
                             {"rates", vamp::py_int_list({2, 6, 8, 8})},
                             {"p", vamp::py_float(0.1)},
                             {"flash", vamp::py_bool(false)},
                             {"mode", vamp::py_str("mask")},
                             {"none", vamp::py_none()}});
  return ck;
}

}  // namespace

START_TEST(test_reads_released_layout) {
  auto codec = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  ck_assert_int_eq(codec.tensors.size(), 680);
  ck_assert_int_eq(codec.kwarg_int("n_codebooks"), 14);
  ck_assert(codec.kwarg_int_list("decoder_rates") == std::vector<int64_t>({2, 2, 2, 2, 2, 2}));
  ck_assert(codec.at("quantizer.quantizers.13.codebook.weight").sizes() == at::IntArrayRef({1024, 8}));

  auto coarse = vamp::load_checkpoint(vamp::test::data("coarse_a.pth"));
  ck_assert_int_eq(coarse.kwarg_int("n_layers"), 2);
  ck_assert(coarse.has("transformer.layers.0.self_attn.w_qs.lora_A"));
  ck_assert_str_eq(coarse.tensors.front().first.c_str(), "embedding.special.MASK");
}
END_TEST

START_TEST(test_tolerates_trainer_leftovers) {
  // Storages tagged cuda:0, a defaultdict with a function factory in metadata.logs, a view.
  auto ck = vamp::load_checkpoint(vamp::test::data("logs_ckpt.pth"));
  VAMP_ASSERT_EQUAL(ck.at("layer.weight"), at::arange(12, at::kFloat).reshape({3, 4}));
  VAMP_ASSERT_CLOSE(ck.at("layer.bias"), at::tensor({1.5f, -2.0f, 3.25f}), 0);
  VAMP_ASSERT_EQUAL(ck.at("view.weight"), at::arange(2, 8, at::kFloat).reshape({2, 3}));
  ck_assert(ck.at("view.weight").device().is_cpu());
  ck_assert(ck.kwarg_int_list("rates") == std::vector<int64_t>({2, 3}));
  ck_assert(ck.metadata->get("logs") != nullptr);
}
END_TEST

START_TEST(test_write_read_round_trip) {
  const std::string path = vamp::test::scratch("roundtrip.pth");
  auto ck = sample_checkpoint();
  vamp::save_checkpoint(path, ck);
  auto back = vamp::load_checkpoint(path);
  ck_assert_int_eq(back.tensors.size(), ck.tensors.size());
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    ck_assert_str_eq(back.tensors[i].first.c_str(), ck.tensors[i].first.c_str());
    ck_assert(back.tensors[i].second.scalar_type() == ck.tensors[i].second.scalar_type());
    VAMP_ASSERT_EQUAL(back.tensors[i].second, ck.tensors[i].second);
  }
  ck_assert_int_eq(back.kwarg_int("neg"), -70000);
  ck_assert_int_eq(back.kwarg_int("big"), int64_t(1) << 40);
  ck_assert(back.kwarg_int_list("rates") == std::vector<int64_t>({2, 6, 8, 8}));
  ck_assert(back.kwarg_float("p", 0) == 0.1);
  ck_assert_str_eq(back.kwargs->get("mode")->s.c_str(), "mask");
  ck_assert(!back.has_kwarg("none"));
}
END_TEST

START_TEST(test_half_storage_halves_the_file_and_loads_as_fp32) {
  const std::string full_path = vamp::test::data("codec_a.pth"), half_path = vamp::test::scratch("codec_half.pth");
  const auto full = vamp::load_checkpoint(full_path);
  vamp::save_checkpoint(half_path, vamp::with_float_storage(full, at::kHalf));
  ck_assert_msg(read_file(half_path).size() < read_file(full_path).size() * 60 / 100, "the fp16 file is not about half");
  const auto half = vamp::load_checkpoint(half_path);
  ck_assert_int_eq(half.tensors.size(), full.tensors.size());
  for (size_t i = 0; i < full.tensors.size(); ++i) {
    const at::Tensor& want = full.tensors[i].second;
    ck_assert(half.tensors[i].second.scalar_type() == want.scalar_type());  // fp32 again
    VAMP_ASSERT_EQUAL(half.tensors[i].second, want.is_floating_point() ? want.to(at::kHalf).to(want.scalar_type()) : want);
  }
  const auto mixed = vamp::with_float_storage(sample_checkpoint(), at::kHalf);
  ck_assert(mixed.at("ids").scalar_type() == at::kLong && mixed.at("a.bias").scalar_type() == at::kHalf);

  // The codec sounds the same: fp16 rounding of the weights only (57 dB SNR here).
  auto a = vamp::Codec::from_checkpoint(full), b = vamp::Codec::from_checkpoint(half);
  at::manual_seed(3);
  const at::Tensor codes = at::randint(0, a->config().codebook_size, {1, a->config().n_codebooks, 24});
  const at::Tensor ya = a->decode(codes), yb = b->decode(codes);
  const double snr = 10 * std::log10(ya.pow(2).sum().item<double>() / (ya - yb).pow(2).sum().item<double>());
  ck_assert_msg(snr > 40, "fp16-stored codec decodes at %.1f dB SNR against fp32", snr);
}
END_TEST

START_TEST(test_python_torch_reads_our_files) {
  if (std::system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0) {
    fprintf(stderr, "skipped: /usr/bin/python3 with torch not available\n");
    return;
  }
  const std::string path = vamp::test::scratch("for_python.pth");
  vamp::save_checkpoint(path, sample_checkpoint());
  const std::string script =
      "import torch, collections, sys\n"
      "d = torch.load(sys.argv[1], map_location='cpu')\n"
      "sd = d['state_dict']\n"
      "assert isinstance(sd, collections.OrderedDict) and hasattr(sd, '_metadata')\n"
      "assert list(sd) == ['a.weight', 'a.bias', 'ids', 'flags', 'strided'], list(sd)\n"
      "assert torch.equal(sd['a.weight'], torch.arange(24.).reshape(2, 3, 4))\n"
      "assert torch.equal(sd['ids'], torch.tensor([-3, 1 << 40]))\n"
      "assert torch.equal(sd['strided'], torch.arange(6.).reshape(2, 3).t())\n"
      "assert sd['flags'].dtype == torch.bool\n"
      "k = d['metadata']['kwargs']\n"
      "assert k == {'dim': 64, 'neg': -70000, 'big': 1 << 40, 'rates': [2, 6, 8, 8], 'p': 0.1,"
      " 'flash': False, 'mode': 'mask', 'none': None}, k\n";
  write_file(vamp::test::scratch("read_ours.py"), script);
  const std::string cmd = "/usr/bin/python3 " + vamp::test::scratch("read_ours.py") + " " + path;
  ck_assert_int_eq(std::system(cmd.c_str()), 0);
}
END_TEST

START_TEST(test_flipped_byte_is_a_crc_error) {
  const std::string good = vamp::test::scratch("good.pth"), bad = vamp::test::scratch("flipped.pth");
  vamp::save_checkpoint(good, sample_checkpoint());
  std::string bytes = read_file(good);
  vamp::zip::Reader zip(good);
  const auto* e = zip.find("good/data/0");
  ck_assert_ptr_nonnull(e);
  bytes[e->data_offset + 5] ^= 0x10;  // inside a.weight's data
  write_file(bad, bytes);
  const std::string err = load_error(bad);
  ck_assert_msg(contains(err, bad) && contains(err, "CRC-32") && contains(err, "good/data/0"), "%s", err.c_str());
}
END_TEST

START_TEST(test_truncated_file_is_an_error) {
  const std::string bytes = read_file(vamp::test::data("coarse_a.pth"));
  for (size_t keep : {size_t(0), size_t(10), bytes.size() / 2, bytes.size() - 10}) {
    const std::string path = vamp::test::scratch("truncated.pth");
    write_file(path, bytes.substr(0, keep));
    const std::string err = load_error(path);
    ck_assert_msg(contains(err, path) && (contains(err, "truncated") || contains(err, "zip")), "%zu: %s", keep,
                  err.c_str());
  }
  ck_assert(contains(load_error(vamp::test::scratch("does-not-exist.pth")), "cannot open"));
}
END_TEST

START_TEST(test_entry_past_the_end_is_truncation) {
  // A central directory that claims more bytes than the file holds: an error naming the record,
  // checked before the mapping is touched (touching it would be SIGBUS, not an error).
  const std::string good = vamp::test::scratch("whole.pth"), bad = vamp::test::scratch("short.pth");
  vamp::save_checkpoint(good, sample_checkpoint());
  std::string bytes = read_file(good);
  const size_t name = bytes.rfind("whole/data/0");  // the central directory's copy comes last
  ck_assert(name != std::string::npos && name >= 46);
  for (size_t field : {name - 46 + 20, name - 46 + 24})  // compressed and uncompressed sizes
    bytes.replace(field, 4, std::string("\x00\x00\xff\x7f", 4));
  write_file(bad, bytes);
  const std::string err = load_error(bad);
  ck_assert_msg(contains(err, bad) && contains(err, "truncated") && contains(err, "whole/data/0"), "%s", err.c_str());
}
END_TEST

START_TEST(test_mapped_tensors_outlive_checkpoint_and_file) {
  const std::string path = vamp::test::scratch("mapped.pth");
  vamp::save_checkpoint(path, sample_checkpoint());
  at::Tensor w, b;
  {
    auto ck = vamp::load_checkpoint(path);
    w = ck.at("a.weight");
    b = ck.take("a.bias", {2});
    try {
      ck.at("a.bias");
      ck_abort_msg("no error for a taken key");
    } catch (const vamp::CheckpointError& e) {
      ck_assert_msg(contains(e.what(), "a.bias") && contains(e.what(), "taken"), "%s", e.what());
    }
  }
  ck_assert_int_eq(std::remove(path.c_str()), 0);
  VAMP_ASSERT_EQUAL(w, at::arange(24, at::kFloat).reshape({2, 3, 4}));
  VAMP_ASSERT_CLOSE(b, at::tensor({-1.5f, 2.25f}), 0);
  // owned() copies what points into a file, and only that.
  const at::Tensor own = vamp::owned(w);
  ck_assert(own.data_ptr() != w.data_ptr());
  VAMP_ASSERT_EQUAL(own, w);
  ck_assert(vamp::owned(own).data_ptr() == own.data_ptr());
  // A whole record's CRC comes from the file; parts and copies have none.
  const auto crc = vamp::record_crc32(w);
  ck_assert(crc && *crc == vamp::zip::crc32(0, w.data_ptr(), w.nbytes()));
  ck_assert(!vamp::record_crc32(w[0]) && !vamp::record_crc32(own));
}
END_TEST

START_TEST(test_writes_to_mapped_tensors_stay_in_process) {
  const std::string path = vamp::test::scratch("cow.pth");
  vamp::save_checkpoint(path, sample_checkpoint());
  const std::string before = read_file(path);
  {
    auto ck = vamp::load_checkpoint(path);
    at::Tensor w = ck.at("a.weight");
    w.add_(1);  // copy-on-write: the file and other loads do not see it
    VAMP_ASSERT_EQUAL(w, at::arange(24, at::kFloat).reshape({2, 3, 4}) + 1);
    VAMP_ASSERT_EQUAL(vamp::load_checkpoint(path).at("a.weight"), at::arange(24, at::kFloat).reshape({2, 3, 4}));
  }
  ck_assert(read_file(path) == before);
}
END_TEST

START_TEST(test_empty_weight) {
  for (int64_t rows : {int64_t(3), int64_t(1) << 12}) {  // below and above a huge page
    at::Tensor w = vamp::empty_weight({rows, 257});
    ck_assert(w.is_contiguous() && w.scalar_type() == at::kFloat && w.size(0) == rows && w.size(1) == 257);
    w.copy_(at::arange(rows * 257, at::kFloat).reshape({rows, 257}));
    ck_assert_int_eq(w[rows - 1][256].item<float>(), float(rows * 257 - 1));
  }
}
END_TEST

START_TEST(test_bad_pickles_name_the_fault) {
  // {} (protocol 2): a dict without state_dict
  ck_assert(contains(load_error(pickle_archive("empty.pth", std::string("\x80\x02}.", 4))), "missing 'state_dict'"));
  // {'state_dict': {}}: no metadata
  const std::string no_meta = std::string("\x80\x02}(X\x0a\x00\x00\x00state_dict}u.", 23);
  ck_assert(contains(load_error(pickle_archive("nometa.pth", no_meta)), "missing 'metadata'"));
  // an opcode we do not know
  ck_assert(contains(load_error(pickle_archive("opcode.pth", std::string("\x80\x02\xff.", 4))), "opcode 0xff"));
  // a string that is not UTF-8 (CRC is fine: the writer computed it over the bad bytes)
  const std::string bad_utf8 = std::string("\x80\x02}(X\x02\x00\x00\x00\xc3\x28N", 12) + "u.";
  ck_assert(contains(load_error(pickle_archive("utf8.pth", bad_utf8)), "invalid UTF-8"));
  // a pickle without STOP
  ck_assert(contains(load_error(pickle_archive("nostop.pth", std::string("\x80\x02}", 3))), "truncated pickle"));
}
END_TEST

// .npy (vamp-cli's exchange format): every length the header claims is checked against the file
// before anything is allocated for it, and a bad shape entry is named (issue 17).
START_TEST(test_npy_lengths_checked_before_allocating) {
  auto npy_error = [](const std::string& name, const std::string& bytes) {
    const std::string path = vamp::test::scratch(name);
    std::ofstream(path, std::ios::binary) << bytes;
    try {
      vamp::load_npy(path);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto npy = [](const std::string& header_dict, const std::string& data) {
    std::string header = header_dict;
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    const uint16_t n = uint16_t(header.size());
    return std::string("\x93NUMPY\x01\x00", 8) + char(n & 0xff) + char(n >> 8) + header + data;
  };
  // version 2 header length 0xfffffff0 in a 12-byte file
  ck_assert(contains(npy_error("huge_header.npy", std::string("\x93NUMPY\x02\x00\xf0\xff\xff\xff", 12)),
                     "truncated header"));
  // a shape of 10^10 floats with 8 bytes of data
  ck_assert(contains(npy_error("huge_shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",
                                                     std::string(8, '\0'))),
                     "truncated data"));
  // a shape whose product overflows 64 bits
  ck_assert(contains(npy_error("overflow.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }",
                                                   std::string(8, '\0'))),
                     "truncated data"));
  ck_assert(contains(npy_error("bad_shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", "")),
                     "bad shape entry ' x'"));
  // a valid file still loads
  const std::string ok = vamp::test::scratch("ok.npy");
  vamp::save_npy(ok, at::arange(6, at::kLong).view({2, 3}));
  VAMP_ASSERT_EQUAL(vamp::load_npy(ok), at::arange(6, at::kLong).view({2, 3}));
}
END_TEST

START_TEST(test_missing_key_and_wrong_shape_are_named) {
  auto ck = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  try {
    ck.at("decoder.model.99.weight_v");
    ck_abort_msg("no error for a missing key");
  } catch (const vamp::CheckpointError& e) {
    ck_assert(contains(e.what(), "codec_a.pth") && contains(e.what(), "decoder.model.99.weight_v"));
  }
  try {
    ck.at("quantizer.quantizers.0.codebook.weight", {1024, 16});
    ck_abort_msg("no error for a wrong shape");
  } catch (const vamp::CheckpointError& e) {
    ck_assert(contains(e.what(), "quantizer.quantizers.0.codebook.weight") && contains(e.what(), "[1024, 8]") &&
              contains(e.what(), "[1024, 16]"));
  }
}
END_TEST

static Suite* checkpoint_suite() {
  Suite* s = suite_create("checkpoint");
  TCase* tc = tcase_create("checkpoint");
  tcase_add_test(tc, test_reads_released_layout);
  tcase_add_test(tc, test_tolerates_trainer_leftovers);
  tcase_add_test(tc, test_write_read_round_trip);
  tcase_add_test(tc, test_half_storage_halves_the_file_and_loads_as_fp32);
  tcase_add_test(tc, test_python_torch_reads_our_files);
  tcase_add_test(tc, test_flipped_byte_is_a_crc_error);
  tcase_add_test(tc, test_truncated_file_is_an_error);
  tcase_add_test(tc, test_entry_past_the_end_is_truncation);
  tcase_add_test(tc, test_mapped_tensors_outlive_checkpoint_and_file);
  tcase_add_test(tc, test_writes_to_mapped_tensors_stay_in_process);
  tcase_add_test(tc, test_empty_weight);
  tcase_add_test(tc, test_bad_pickles_name_the_fault);
  tcase_add_test(tc, test_missing_key_and_wrong_shape_are_named);
  tcase_add_test(tc, test_npy_lengths_checked_before_allocating);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(checkpoint_suite)
