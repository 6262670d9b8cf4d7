"""The article's second script: the same downloads on a ThreadPoolExecutor() with default workers.

As published, except that the URLs come from a file (argv[1]) and the images go to a folder
(argv[2]) instead of being written into the script and the current directory.
Usage: python3 article_threadpool.py LIST DIR
"""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

with open(sys.argv[1]) as f:
    img_urls = [line.strip() for line in f if line.strip() and not line.startswith('#')]
os.chdir(sys.argv[2])


def download_images(url):
    img_name = url.split('/')[3]
    img_bytes = requests.get(url).content
    with open(img_name, 'wb') as img_file:
        img_file.write(img_bytes)
        print(f"{img_name} was downloaded")


start = time.perf_counter()  # start timer
with ThreadPoolExecutor() as executor:
    results = executor.map(download_images, img_urls)  # similar to map(func, *iterables)
finish = time.perf_counter()  # end timer
print(f"Finished in {round(finish-start,2)} seconds")
