// The .vtok format in the engine (vamp/token_file.h): what vamp-cli reads and writes, and what the
// plugin's vampparse / vamptokfilemux parse and write through it.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "testutil.h"  // check.h after the standard headers: its macros clash with <fstream>
#include "vamp/token_file.h"

namespace {

vamp::TokenFormat format(bool mask) {
  vamp::TokenFormat f;
  f.rate = 44100;
  f.hop_length = 768;
  f.codebooks = 3;
  f.codebook_size = 1024;
  f.codec_id = "edd5a141";
  f.has_mask = mask;
  return f;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), long(bytes.size()));
}

std::string error_of(const std::string& path) {
  try {
    vamp::read_token_file(path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// The header is byte for byte what GStreamer serializes for these caps (files written by
// vamptokfilemux before the format moved to the engine read and compare the same).
START_TEST(test_caps_string_is_gstreamers) {
  const std::string caps = vamp::token_caps_string(format(false));
  ck_assert_str_eq(caps.c_str(),
                   "audio/x-vamp-tokens, format=(string)U16LE, layout=(string)interleaved, mask=(string)none, "
                   "rate=(int)44100, hop-length=(int)768, framerate=(fraction)3675/64, codebooks=(int)3, "
                   "codebook-size=(int)1024, codec-id=(string)edd5a141");
  vamp::TokenFormat back;
  ck_assert(vamp::parse_token_caps(vamp::token_caps_string(format(true)), &back, nullptr));
  ck_assert(back.has_mask && back.codebooks == 3 && back.codec_id == "edd5a141" && back.hop_length == 768);
  // Hand-written caps, as gst-launch users write them, parse too.
  ck_assert(vamp::parse_token_caps("audio/x-vamp-tokens,format=U16LE,layout=interleaved,rate=44100,hop-length=64,"
                                   "codebooks=14,codebook-size=1024", &back, nullptr));
  ck_assert(!back.has_mask && back.codebooks == 14 && back.codec_id.empty());
  std::string why;
  ck_assert(!vamp::parse_token_caps("audio/x-vamp-tokens,format=U16LE,layout=interleaved,rate=44100,hop-length=64,"
                                    "codebooks=99,codebook-size=1024", &back, &why));
  ck_assert(!vamp::parse_token_caps("video/x-raw,format=U16LE", &back, &why));
}
END_TEST

START_TEST(test_round_trip_with_and_without_mask) {
  for (bool mask : {false, true}) {
    vamp::TokenFile f;
    f.format = format(mask);
    f.frames = 5;
    for (int i = 0; i < 15; ++i) {
      f.tokens.push_back(uint16_t(i * 61 % 1024));
      if (mask) f.mask.push_back(uint8_t(i % 2));
    }
    const std::string path = vamp::test::scratch("token-file-test.vtok");
    vamp::write_token_file(path, f);
    const vamp::TokenFile back = vamp::read_token_file(path);
    ck_assert_int_eq(back.frames, 5);
    ck_assert(back.tokens == f.tokens && back.mask == f.mask && back.format.has_mask == mask);
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    ck_assert_int_eq(int64_t(in.tellg()), int64_t(vamp::token_file_header(f.format).size() + 5 * f.format.frame_bytes()));
  }
}
END_TEST

// Every bad file is an error naming the file and the fault; lengths are checked before reading.
START_TEST(test_bad_files) {
  const std::string path = vamp::test::scratch("token-file-bad.vtok");
  const std::vector<uint8_t> header = vamp::token_file_header(format(false));
  struct Case {
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  std::vector<uint8_t> flipped = header, huge = header, bytes = header, partial = header;
  flipped[4] = 7;                                  // version 7
  huge[8] = 0xff, huge[9] = 0xff, huge[10] = 0xff;  // caps length ~16 M
  bytes[12] = 0xff, bytes[13] = 0xfe;              // not UTF-8
  partial.insert(partial.end(), {1, 2, 3});        // 3 of 6 bytes of a frame
  const Case cases[] = {
      {{}, "truncated token file header: the file has 0 bytes"},
      {{'V', 'T', 'O'}, "truncated token file header"},
      {{'R', 'I', 'F', 'F', 0, 0, 0, 0, 0, 0, 0, 0}, "not a vamp token file"},
      {flipped, "version 7"},
      {huge, "caps length"},
      {bytes, "\\377\\376"},
      {std::vector<uint8_t>(header.begin(), header.end() - 1), "truncated token file header"},
      {partial, "partial frame"},
  };
  for (const auto& c : cases) {
    write_bytes(path, c.bytes);
    const std::string e = error_of(path);
    ck_assert_msg(e.find(path) == 0 && e.find(c.expect) != std::string::npos, "expected '%s', got '%s'", c.expect,
                  e.c_str());
  }
  ck_assert(error_of(vamp::test::scratch("no-such-file.vtok")).find("cannot open") != std::string::npos);
}
END_TEST

}  // namespace

Suite* token_file_suite() {
  Suite* s = suite_create("token_file");
  TCase* tc = tcase_create("format");
  tcase_add_test(tc, test_caps_string_is_gstreamers);
  tcase_add_test(tc, test_round_trip_with_and_without_mask);
  tcase_add_test(tc, test_bad_files);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(token_file_suite)
