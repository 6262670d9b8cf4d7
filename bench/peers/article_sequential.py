"""The article's first script: one image after another with requests.

As published, except that the URLs come from a file (argv[1]) and the images go to a folder
(argv[2]) instead of being written into the script and the current directory.
Usage: python3 article_sequential.py LIST DIR
"""
import os
import sys
import time

import requests

with open(sys.argv[1]) as f:
    img_urls = [line.strip() for line in f if line.strip() and not line.startswith('#')]
os.chdir(sys.argv[2])

start = time.perf_counter()  # start timer
for img_url in img_urls:
    img_name = img_url.split('/')[3]  # get image name from url
    img_bytes = requests.get(img_url).content
    with open(img_name, 'wb') as img_file:
        img_file.write(img_bytes)  # save image to disk
finish = time.perf_counter()  # end timer
print(f"Finished in {round(finish-start,2)} seconds")
