// The data sets, one entry each. Adding a corpus is adding one entry:
//   name        the task name (used in metrics: <name>_f1, and in `allennlp evaluate NAME=file`)
//   folder      sub-folder of the data root that holds train.tsv, devel.tsv and test.tsv
//   category    its entity category (MTL-XC and MTL-LS group data sets by category)
//   entity_type the entity type written in its files; it is mapped to the category's type so
//               that `Simple_chemical`, `CHEBI` and `Chemical` become one label
{
  // The unified entity type of each category.
  category_types: {
    chemical: 'Chemical',
    disease: 'Disease',
    gene: 'Gene',
    species: 'Species',
  },

  // Crichton et al. (2017) IOB corpora, as in ../shared/data/MTL-Bioinformatics-2016 (the paper's
  // 14 data sets minus BC4CHEMD, JNLPBA, BC2GM and LINNAEUS, which that copy does not hold).
  corpora: [
    { name: 'BC5CDR-chem', folder: 'BC5CDR-chem-IOB', category: 'chemical', entity_type: 'Chemical' },
    { name: 'BioNLP11ID-chem', folder: 'BioNLP11ID-chem-IOB', category: 'chemical', entity_type: 'Chemical' },
    { name: 'BioNLP13CG-chem', folder: 'BioNLP13CG-chem-IOB', category: 'chemical', entity_type: 'Simple_chemical' },
    { name: 'BioNLP13PC-chem', folder: 'BioNLP13PC-chem-IOB', category: 'chemical', entity_type: 'Simple_chemical' },
    { name: 'CRAFT-chem', folder: 'CRAFT-chem-IOB', category: 'chemical', entity_type: 'CHEBI' },
    { name: 'BC5CDR-disease', folder: 'BC5CDR-disease-IOB', category: 'disease', entity_type: 'Disease' },
    { name: 'NCBI-disease', folder: 'NCBI-disease-IOB', category: 'disease', entity_type: 'Disease' },
    { name: 'BioNLP09', folder: 'BioNLP09-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP11EPI', folder: 'BioNLP11EPI-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP11ID-ggp', folder: 'BioNLP11ID-ggp-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP13CG-ggp', folder: 'BioNLP13CG-ggp-IOB', category: 'gene', entity_type: 'Gene_or_gene_product' },
    { name: 'BioNLP13GE', folder: 'BioNLP13GE-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP13PC-ggp', folder: 'BioNLP13PC-ggp-IOB', category: 'gene', entity_type: 'Gene_or_gene_product' },
    { name: 'CRAFT-ggp', folder: 'CRAFT-ggp-IOB', category: 'gene', entity_type: 'GGP' },
    { name: 'Ex-PTM', folder: 'Ex-PTM-IOB', category: 'gene', entity_type: 'Protein' },
    { name: 'BioNLP11ID-species', folder: 'BioNLP11ID-species-IOB', category: 'species', entity_type: 'Organism' },
    { name: 'BioNLP13CG-species', folder: 'BioNLP13CG-species-IOB', category: 'species', entity_type: 'Organism' },
    { name: 'CRAFT-species', folder: 'CRAFT-species-IOB', category: 'species', entity_type: 'NCBITaxon' },
  ],

  // The synthetic corpora in fixtures/data, for tests and the demo.
  fixtures: [
    { name: 'disease_a', folder: 'disease_a', category: 'disease', entity_type: 'Disease' },
    { name: 'disease_b', folder: 'disease_b', category: 'disease', entity_type: 'DISO' },
    { name: 'chem_a', folder: 'chem_a', category: 'chemical', entity_type: 'Chemical' },
    { name: 'chem_b', folder: 'chem_b', category: 'chemical', entity_type: 'Simple_chemical' },
    { name: 'gene_a', folder: 'gene_a', category: 'gene', entity_type: 'Protein' },
    { name: 'species_a', folder: 'species_a', category: 'species', entity_type: 'Organism' },
  ],
}
