"""The naive ingest the issue measured: decode each JPEG at full size with PIL, crop the centre
square, resize with Lanczos, save PNG, one image at a time. Run as a whole process by the
ingest benchmark (Debian: apt-get install python3-pil). Prints {images, seconds, peakRssMB}."""
import json, os, resource, sys, time
from PIL import Image

folder, resolution, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
started = time.perf_counter()
images = 0
for name in sorted(os.listdir(folder)):
    if not name.lower().endswith(('.jpg', '.jpeg', '.png')):
        continue
    with Image.open(os.path.join(folder, name)) as im:
        im = im.convert('RGB')  # forces the full-size decode
        w, h = im.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        im.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.LANCZOS).save(os.path.join(out, name + '.png'))
    images += 1
print(json.dumps({'images': images, 'seconds': time.perf_counter() - started, 'peakRssMB': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
