/* Classifies images with the C API, one image per run, into buffers this program owns.
 *   classify_c MODEL IMAGE...   ->   one line per image: "IMAGE<TAB>LABEL<TAB>SCORE"
 */
#include <octet/octet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints and frees a failed status; returns 1 if there was one. */
static int failed(octet_status* st) {
  if (!st) return 0;
  fprintf(stderr, "error: %s\n", octet_status_message(st));
  octet_status_free(st);
  return 1;
}

/* Copies line `index` of the newline-separated `labels` into `out` (or the index as text when absent). */
static void label_of(const char* labels, size_t index, char* out, size_t size) {
  const char* p = labels;
  for (size_t k = 0; p && k < index; ++k) {
    p = strchr(p, '\n');
    if (p) ++p;
  }
  if (!p || !*p) {
    snprintf(out, size, "%zu", index);
    return;
  }
  size_t len = strcspn(p, "\n");
  if (len >= size) len = size - 1;
  memcpy(out, p, len);
  out[len] = '\0';
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  octet_options* options = NULL;
  octet_session* session = NULL;
  int status = 1;
  float* image = NULL;
  float* scores = NULL;
  if (failed(octet_options_create(&options)) || failed(octet_options_set_threads(options, 1)) ||
      failed(octet_session_create(argv[1], options, &session)))
    goto done;

  /* Batch of one: the input's shape with the batch dim set to 1, and the output's size for that shape. */
  octet_tensor input;
  if (failed(octet_session_input_info(session, 0, &input))) goto done;
  input.shape[0] = 1;
  if (failed(octet_session_set_input_shape(session, 0, input.shape, (size_t)input.rank)) ||
      failed(octet_session_input_info(session, 0, &input)))
    goto done;
  octet_tensor output;
  if (failed(octet_session_output_info(session, 0, &output))) goto done;
  const size_t classes = output.bytes / sizeof(float);
  image = malloc(input.bytes);
  scores = malloc(output.bytes);
  if (!image || !scores) goto done;

  for (int i = 2; i < argc; ++i) {
    input.data = image; /* the decoded image lands in our buffer and is read in place by the run */
    if (failed(octet_image_load(session, 0, argv[i], &input))) goto done;
    output.data = scores;
    output.bytes = classes * sizeof(float);
    if (failed(octet_session_run(session, &input, 1, &output, 1))) goto done;
    size_t top = 0;
    for (size_t k = 1; k < classes; ++k)
      if (scores[k] > scores[top]) top = k;
    char label[128];
    label_of(octet_session_metadata(session, "labels"), top, label, sizeof label);
    printf("%s\t%s\t%.4f\n", argv[i], label, scores[top]);
  }
  status = 0;
done:
  free(image);
  free(scores);
  octet_session_destroy(session);
  octet_options_destroy(options);
  return status;
}
