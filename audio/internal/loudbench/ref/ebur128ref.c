/* ebur128ref: the libebur128 side of `make bench-audio`. Built by the
 * benchmark driver with the system's libebur128 (Debian libebur128-dev);
 * never committed as a binary.
 *
 * Usage: ebur128ref [-no-ms] FILE.wav  (16- or 24-bit PCM WAV)
 * Measures integrated loudness, LRA, true peak and momentary/short-term
 * every 10 ms (it feeds 10 ms chunks and reads M and S after each; -no-ms
 * skips reading them), and prints one JSON line. */
#include <ebur128.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const unsigned char *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

int main(int argc, char **argv) {
	int ms = 1;
	if (argc == 3 && !strcmp(argv[1], "-no-ms")) {
		ms = 0;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: ebur128ref [-no-ms] FILE.wav\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	unsigned char hdr[12], ch[8], fmt[40];
	unsigned channels = 0, rate = 0, bits = 0;
	if (fread(hdr, 1, 12, f) != 12 || memcmp(hdr, "RIFF", 4) || memcmp(hdr + 8, "WAVE", 4)) {
		fprintf(stderr, "not a WAV file\n");
		return 1;
	}
	for (;;) {
		if (fread(ch, 1, 8, f) != 8) {
			fprintf(stderr, "no data chunk\n");
			return 1;
		}
		uint32_t size = le32(ch + 4);
		if (!memcmp(ch, "fmt ", 4)) {
			if (size < 16 || size > sizeof fmt || fread(fmt, 1, size, f) != size) return 1;
			channels = fmt[2] | fmt[3] << 8;
			rate = le32(fmt + 4);
			bits = fmt[14] | fmt[15] << 8;
		} else if (!memcmp(ch, "data", 4)) {
			break;
		} else {
			fseek(f, size + (size & 1), SEEK_CUR);
		}
	}
	if ((bits != 16 && bits != 24) || channels == 0) {
		fprintf(stderr, "need 16- or 24-bit PCM\n");
		return 1;
	}
	ebur128_state *st = ebur128_init(channels, rate, EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_S);
	if (!st) return 1;
	size_t hop = rate / 100, width = bits / 8;
	unsigned char *raw = malloc(hop * channels * width);
	int *buf = malloc(hop * channels * sizeof(int));
	double maxM = -HUGE_VAL, maxS = -HUGE_VAL, m, s;
	size_t n;
	while ((n = fread(raw, channels * width, hop, f)) > 0) {
		for (size_t i = 0; i < n * channels; i++) {
			const unsigned char *p = raw + i * width;
			buf[i] = width == 3 ? (int)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24)
			                    : (int)((uint32_t)p[0] << 16 | (uint32_t)p[1] << 24);
		}
		ebur128_add_frames_int(st, buf, n);
		if (!ms) continue;
		if (ebur128_loudness_momentary(st, &m) == EBUR128_SUCCESS && m > maxM) maxM = m;
		if (ebur128_loudness_shortterm(st, &s) == EBUR128_SUCCESS && s > maxS) maxS = s;
	}
	double I, lra, tp = 0, p;
	ebur128_loudness_global(st, &I);
	ebur128_loudness_range(st, &lra);
	for (unsigned c = 0; c < channels; c++) {
		ebur128_true_peak(st, c, &p);
		if (p > tp) tp = p;
	}
	if (ms)
		printf("{\"integrated\":%.4f,\"lra\":%.4f,\"truePeak\":%.4f,\"maxM\":%.4f,\"maxS\":%.4f}\n", I, lra, 20 * log10(tp), maxM, maxS);
	else
		printf("{\"integrated\":%.4f,\"lra\":%.4f,\"truePeak\":%.4f,\"maxM\":null,\"maxS\":null}\n", I, lra, 20 * log10(tp));
	ebur128_destroy(&st);
	free(raw);
	free(buf);
	fclose(f);
	return 0;
}
